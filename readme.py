"""Write the measured figures into README.md: `python -m readme`.

The README's tables are generated from artifacts/metrics.json, artifacts/model.json
and bench/results.json (written by bench/bench.py), between marker comments, so no figure is ever typed by
hand; a test fails when the README and those files disagree. `make export` and
`make bench` run this after they write their files.
"""

import json
import re
from pathlib import Path

import contract
from drawings.numbers import SIGNS

ROOT = Path(__file__).resolve().parent
README = ROOT / "README.md"
LIT = {"room": "in a room's light", "flash": "with a flash (the corners 30-60% darker)",  # drawings.LIGHTS
       "shadow": "with a hard-edged shadow across the page (30-55% darker)"}


def model_table(metrics: dict, card: dict) -> str:
    per_class = " · ".join(f"{d}: {a:.2%}" for d, a in enumerate(metrics["per_class_accuracy"]))
    rows = [
        ("Test accuracy (10,000 MNIST test images, Keras; the likeliest of the ten digits)",
         f"**{metrics['test_accuracy']:.2%}** ({metrics['test_errors']} errors)"),
        ("Test accuracy in onnxruntime (the served model)", f"{card['test_accuracy']:.2%}"),
        ("ONNX vs Keras, max probability difference", f"{card['parity']['max_probability_difference']:.1e}"),
        ("Validation (5,000 held-out training digits; non-digits made from them)",
         f"digits {metrics['val_accuracy']['digits']:.2%}, not a digit {metrics['val_accuracy']['not a digit']:.2%}, "
         f"several digits {metrics['val_accuracy']['several digits']:.2%}; best epoch {metrics['best_epoch']} "
         f"of {metrics['epochs']}"),
        ("Parameters / ONNX file", f"{metrics['parameters']:,} / {card['bytes'] / 1e6:.2f} MB"),
        ("Training wall time", f"{metrics['wall_time_seconds'] / 60:.1f} min on {metrics['cpu_count']} CPU cores"),
        ("Calibration (temperature fitted on validation)", f"temperature {metrics['temperature']:.3f}; expected "
                                                          f"calibration error on the test set {metrics['test_calibration_error']:.2%}"),
        ("Test digits refused (not a digit or several digits, as MNIST gives them)",
         f"{card['verdicts']['test digits']['not a digit'] + card['verdicts']['test digits']['several digits']:.2%}"),
        ("Per-class test accuracy", per_class),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def bench_table(results: dict) -> str:
    ours, theirs, ratios, m = results["service"], results["flask_keras"], results["ratios"], results["machine"]

    def both(label, pick, unit, ratio=""):
        return f"| {label} | {pick(ours)}{unit} | {pick(theirs)}{unit} | {ratio} |"

    rows = ["| | this project | Flask + Keras | ours vs theirs |", "|---|---|---|---|"]
    for c in ("1", "4", "16"):
        rows.append(both(f"`/api/predict` throughput, {c} connection{'s' * (c != '1')}",
                         lambda s: f"{s['predict'][c]['requests_per_second']:,.0f}", " req/s",
                         f"**{ratios[f'throughput_x_c{c}']}×**"))
    for c in ("1", "16"):
        rows.append(both(f"`/api/predict` latency p50 / p99, {c} connection{'s' * (c != '1')}",
                         lambda s: f"{s['predict'][c]['p50_ms']} / {s['predict'][c]['p99_ms']}", " ms",
                         f"p99 **{ratios[f'p99_fraction_c{c}']}×**"))
    rows.append(f"| `/api/predict` throughput, 64 connections | "
                f"{ours['predict']['64']['requests_per_second']:,.0f} req/s | | |")
    rows += [
        both("`/healthz` throughput, 16 connections (the stack's ceiling)",
             lambda s: f"{s['healthz']['16']['requests_per_second']:,.0f}", " req/s"),
        both("predict / ceiling, 16 connections",
             lambda s: f"{s['predict']['16']['requests_per_second'] / s['healthz']['16']['requests_per_second']:.2f}", ""),
        both("cold start to first prediction", lambda s: s["cold_start_s"], " s"),
        both("peak memory of a serving process", lambda s: s["peak_worker_rss_mib"], " MiB"),
        both("installed environment", lambda s: f"{s['environment_mib']:,.0f}", " MiB"),
    ]
    model, drawn, soak = results["model"], results["drawn_accuracy"], results["soak"]
    return "\n".join([
        f"Measured by `make bench` on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
        f"Python {m['python']}; wrk and the servers share the machine, {results['seconds_per_load']} s per load, "
        f"one request in {results['requests_per_connection']} that wrk sends asking for its connection to be closed, "
        "so that connections are opened anew through the run, as nginx opens its own to gunicorn anew (a kept "
        "connection stays with the worker that accepted it). "
        "This project runs as `make serve` runs it (gunicorn, a worker per core, 2 threads each); "
        "the alternative runs Flask's own threaded server with the same model and preprocessing.",
        "",
        *rows,
        "",
        f"- The training environment (TensorFlow) is {results['training_environment_mib']:,.0f} MiB; "
        "the serve environment above is all the serve image installs.",
        f"- The model alone in onnxruntime, one thread: {model['batch_1']['ms']} ms for one image, "
        f"{model['batch_256']['ms']} ms for 256 ({model['batch_256']['images_per_second']:,} images/s).",
        f"- The first {drawn['images']:,} test digits drawn on canvases: {drawn['mnist_style_preprocessing']:.2%} "
        f"read right with MNIST-style preprocessing, {drawn['whole_canvas_resized']:.2%} with the whole canvas "
        f"resized to 28×28 (grey levels and polarity handled the same way); the same digits as MNIST gives them: "
        f"{drawn['mnist_test_images_as_they_are']:.2%}; the same digits photographed on unevenly lit paper, "
        + "; ".join(f"{LIT[light]}: " + ", ".join(f"{share:.2%} on {paper} paper" for paper, share in by_paper.items())
                    for light, by_paper in drawn["photos"].items())
        + f"; in a room's light with the pen fading across the digit to {drawn['fading_pen']['faintest']:.0%} of "
        f"its ink (the papers in turn): {drawn['fading_pen']['accuracy']:.2%}"
        + f"; the first {drawn['on_a_page']['images']:,} written {drawn['on_a_page']['share']:.0%} of a whole "
        "page photo's height (2400 × 1800 px), " + ", ".join(f"{LIT[light]} {drawn['on_a_page'][light]:.2%}"
                                                             for light in LIT)
        + ". (All 10,000 drawn through the HTTP API: tests/test_drawn_accuracy.py.)",
        f"- Soak, {soak['clients']} clients for {soak['seconds']:.0f} s, drawings, uploads, data URLs and bad inputs "
        f"mixed: {soak['requests']:,} requests, {soak['server_errors']} server errors, "
        f"{soak['wrong_digit']} wrong answers, {soak['wrong_status']} unexpected statuses, "
        f"{soak['connection_errors']} connection errors; {memory_growth(soak)}, the largest worker afterwards at "
        f"{max(soak['worker_rss_kib_after']) / 1024:.0f} MiB.",
        "",
        hostile_table(results),
    ])


def hostile_table(results: dict) -> str:
    """The service alone and behind nginx (`make stack`): cost of the proxy, slow clients, costly requests."""
    direct, stack, ratios = results["service"]["predict"], results["stack"]["predict"], results["ratios"]
    slow, costly = results["slow_clients"], results["costly_requests"]
    rows = ["| `/api/predict` | `make serve` alone | behind nginx (`make stack`) | stack / alone |", "|---|---|---|---|"]
    for c in ("1", "4", "16", "64"):
        rows.append(f"| throughput, {c} connection{'s' * (c != '1')} | {direct[c]['requests_per_second']:,.0f} req/s "
                    f"| {stack[c]['requests_per_second']:,.0f} req/s | {ratios[f'stack_over_direct_c{c}']}× |")
    rows += [
        f"| 64 connections / the best of 1, 4 and 16 | {ratios['direct_c64_over_best']}× | "
        f"{ratios['stack_c64_over_best']}× | |",
        f"| while {slow['stack']['clients']} slow clients hold connections: a visitor's requests answered "
        f"| {slow['direct']['answered_fraction']:.1%} | {slow['stack']['answered_fraction']:.1%} | |",
        f"| ... and their latency p50 / p99 | {latency(slow['direct'])} | {latency(slow['stack'])} | |",
    ]
    return "\n".join([
        *rows,
        "",
        f"- Slow clients: a third trickle their headers a byte a second, a third their body, a third connect and "
        f"say nothing, for {slow['stack']['seconds']:.0f} s; meanwhile a new visitor every half second asks for "
        "`/healthz` and a drawn digit.",
        f"- The costliest hostile input of the battery (bench/hostile.py) cost the service "
        f"{costly['costliest_cpu_seconds']} CPU-seconds ({costly['costliest']}); after 200 blank 4-megapixel "
        f"RGBA PNGs (the largest pictures accepted) and 200 1×16,777,216 PNG strips, 8 at a time, the workers held "
        f"{' and '.join(f'{mib:.0f}' for mib in costly['worker_rss_mib_after_largest'])} MiB.",
    ])


def numbers_table(numbers: dict) -> str:
    """Numbers read in-process by spacing and length, and drawings sent as strokes against PNGs over HTTP."""
    spacings, speed = numbers["reading"]["spacings"], numbers["speed"]
    lengths = list(next(iter(spacings.values()))["by_length"])
    rows = [f"| spacing | {' | '.join(f'{n} digits' for n in lengths)} | all lengths | bar | digits right | time p50 |",
            "|---|" + "---|" * (len(lengths) + 4)]
    for spacing, r in spacings.items():
        rows.append(f"| {spacing} | {' | '.join(share(r['by_length'][n]) for n in lengths)} | **{share(r)}** "
                    f"± {margin(r):.1f} | "
                    f"≥ {r['bar']:.1%}: {met(r['accuracy'] >= r['bar'])} | "
                    f"{r['digits_right'] / r['digits']:.2%} of {r['digits']:,} | {r['p50_ms']} ms |")
    predict, latency, sent, bars = speed["predict"], speed["number"], speed["sent"], speed["bars"]
    http = ["| | strokes (JSON) | PNG | strokes / PNG | bar |", "|---|---|---|---|---|"]
    for c, both in predict.items():
        http.append(f"| `/api/predict` throughput, {c} connection{'s' * (c != '1')} | "
                    f"{both['strokes']['requests_per_second']:,.0f} req/s | {both['png']['requests_per_second']:,.0f} req/s"
                    f" | **{both['strokes_over_png']}×** | ≥ {bars['strokes_over_png']}×: "
                    f"{met(both['strokes_over_png'] >= bars['strokes_over_png'])} |")
    http += [
        f"| `/api/predict` body: a 7 | {sent['predict_strokes']['bytes']:,} bytes | {sent['predict_png']['bytes']:,} bytes"
        f" | | |",
        f"| `/api/number` latency p50 / p99, 1 connection | {latency['strokes']['p50_ms']} / "
        f"{latency['strokes']['p99_ms']} ms | {latency['png']['p50_ms']} / {latency['png']['p99_ms']} ms | | "
        f"p50 ≤ {bars['number_p50_ms']} ms: {met(latency['strokes']['p50_ms'] <= bars['number_p50_ms'])} / "
        f"{met(latency['png']['p50_ms'] <= bars['number_p50_ms'])} |",
        f"| `/api/number` body: 4 digits | {sent['number_strokes']['bytes']:,} bytes, read "
        f"{sent['number_strokes']['read']} | {sent['number_png']['bytes']:,} bytes, read {sent['number_png']['read']} | | |",
    ]
    fixed, one = speed["fixed_costs"], predict["1"]
    shared = fixed["livez_p50_ms"] + fixed["digit_model_ms"]
    own = {form: one[form]["p50_ms"] - shared for form in ("strokes", "png")}
    w, h = speed["number_png_size"]
    return "\n".join([
        f"Numbers of 2 to 6 MNIST test digits ({', '.join(spacings)}; drawings/numbers.py), read in one process "
        f"exactly as `/api/number` reads a picture, number model `{numbers['reading']['number_model']}`, one "
        "onnxruntime thread; each figure is the share read right, of how many, and ± after a spacing's share "
        "its 95% margin of error, in points (so many numbers pin it down no closer). Digits right: digits in their "
        "place among numbers read at their true length (a reading of the wrong length gets none right). "
        f"Time: decoding the PNG and reading it. The machine's load average was {numbers['load_average']} "
        "as this began (other work may share its cores; the ratios hold better than the times).",
        "",
        *rows,
        "",
        "Verdicts given to these numbers (`number`, `unsure` under 0.8 confidence, `not a number`): "
        + "; ".join(f"{spacing}: " + ", ".join(f"{verdict} {count}" for verdict, count in r["verdicts"].items())
                    for spacing, r in spacings.items() if "verdicts" in r) + ".",
        "",
        "Written apart with a sign (`drawings.numbers.signed_numbers`: a point between two digits on their feet, "
        "a comma reaching under them, a minus before the first; 2 to 6 test digits), read the same way: "
        + "; ".join(f"{SIGNS[sign]}: {share(counts)} right, its sign right in {counts['signs_right']:,}"
                    for sign, counts in numbers["signs"].items()) + ".",
        "",
        "Photographed (`drawings.photographed`: a phone photo, the paper lit unevenly, a grey pen, noise, JPEG; "
        "2 to 6 test digits, apart, close and touching in turn), read the same way: "
        + "; ".join(f"{LIT[light]}, " + ", ".join(f"on {paper} paper {share(counts)} right" for paper, counts in by_paper.items())
                    for light, by_paper in numbers["photographed"].items())
        + ". The lines of ruled and squared paper are taken out before the ink is read, and a flash's bright "
        "middle is not taken for ink; under a hard-edged shadow the paper's level is its own envelope, and the "
        "faint marks the shadow's edge leaves apart from the strokes are cleared (`serve/preprocess.py`). Written "
        f"{numbers['on_a_page']['share']:.0%} of a whole page photo's height on plain paper: "
        + ", ".join(f"{LIT[light]} {share(numbers['on_a_page'][light])} right" for light in LIT)
        + "; such a number is read again from the photo's own pixels around it (`serve/number.py`).",
        "",
        "The page sends what is drawn as strokes (JSON) rather than as a PNG; both through `make serve` under wrk "
        "as above:",
        "",
        *http,
        "",
        f"- The 7: `bench/strokes.json` traces `bench/canvas.png` (their ink overlaps "
        f"{speed['seven_ink_overlap']:.0%}, intersection over union), on the page's 320×320 pad; read as "
        f"{sent['predict_strokes']['read']} from the strokes and {sent['predict_png']['read']} from the PNG.",
        f"- The 4 digits: {sent['number_strokes']['truth']} written as strokes on the page's 900×300 number pad; "
        f"test digits {sent['number_png']['truth']} written apart on a {w}×{h} PNG.",
        f"- What both forms pay, at 1 connection: {fixed['livez_p50_ms']} ms p50 for a request that does nothing "
        f"(`GET /livez`: HTTP, gunicorn, Bottle) and {fixed['digit_model_ms']} ms for the digit model. Beyond those, "
        f"a drawing costs {own['strokes']:.2f} ms as strokes and {own['png']:.2f} ms as a PNG "
        f"({own['png'] / own['strokes']:.1f}×, p50s less the shared {shared:.2f} ms). For 3× in all, a strokes "
        f"request would take {one['png']['p50_ms'] / 3:.2f} ms, {one['png']['p50_ms'] / 3 - shared:.2f} ms of its own.",
    ])


def augmentations_table(comparison: dict) -> str:
    """Validation accuracy of each short run, against the first (today's pose changes alone)."""
    runs = comparison["runs"]
    base = runs[0]["val_accuracy"]["digits"]
    rows = ["| changes | digits right (validation) | vs pose alone | not a digit | several digits | minutes |",
            "|---|---|---|---|---|---|"]
    for run in runs:
        right = run["val_accuracy"]
        rows.append(f"| {' + '.join(run['augment'])} | {right['digits']:.2%} | {(right['digits'] - base) * 100:+.2f} pt | "
                    f"{right['not a digit']:.2%} | {right['several digits']:.2%} | {run['wall_time_seconds'] / 60:.1f} |")
    return "\n".join([f"Settings: `{comparison['settings']}` (validation: the last 5,000 training digits' first "
                      "4,000 and digits drawn in the world's styles, and non-digits made from them).", "", *rows])


def verdicts_table(verdicts: dict) -> str:
    """The share of each held-out set given each verdict, against the issue's bars."""
    digits, several = verdicts["drawn test digits"], verdicts["2 or 3 digits on the digit pad"]
    refused = digits["not a digit"] + digits["several digits"]
    rows = ["| held-out set | digit | unsure | not a digit | several digits | bar |", "|---|---|---|---|---|---|"]
    for name, tally in verdicts.items():
        if name == "drawn test digits":
            bar = (f"refused ≤ 0.5%: {met(refused <= 0.005)}; unsure ≤ 2%: {met(tally['unsure'] <= 0.02)}; "
                   f"calibration error {tally['calibration_error']:.2%} ≤ 1%: {met(tally['calibration_error'] <= 0.01)}")
        elif name.startswith("non-digits"):
            refusing = tally["not a digit"] + tally["unsure"]
            bar = f"not a digit or unsure {refusing:.1%} ≥ 90%: {met(refusing >= 0.9)}"
        else:
            bar = f"several digits ≥ 90%: {met(tally['several digits'] >= 0.9)}"
        rows.append(f"| {name} ({tally['pictures']:,}) | "
                    + " | ".join(f"{tally[verdict]:.2%}" for verdict in contract.VERDICTS) + f" | {bar} |")
    kinds = {**verdicts["non-digits, kinds trained on"]["by_kind"], **verdicts["non-digits, kinds held out"]["by_kind"]}
    return "\n".join([
        *rows,
        "",
        f"- Drawn test digits read right: {digits['right']:.2%}; every verdict and probability is the served "
        f"model's (`contract.verdict`), after the server's own preprocessing.",
        "- Not a digit (or unsure), by kind: " + " · ".join(f"{kind} {value:.0%}" for kind, value in kinds.items())
        + f". Held out of training entirely: {', '.join(verdicts['non-digits, kinds held out']['by_kind'])}.",
        f"- Several digits: two or three test digits written apart, close or touching ({several['pictures']:,}).",
    ])


def share(tally: dict) -> str:
    return f"{tally['right'] / tally['numbers']:.1%} of {tally['numbers']:,}"


def margin(tally: dict) -> float:
    """The 95% margin of error of a share of right readings, in points (the normal
    approximation to the binomial): a bar closer than this is neither met nor missed for sure."""
    right = tally["right"] / tally["numbers"]
    return 196 * (right * (1 - right) / tally["numbers"]) ** 0.5


def met(passed: bool) -> str:
    return "met" if passed else "**missed**"


def memory_growth(soak: dict) -> str:
    if soak["max_worker_rss_growth_kib"] is None:
        return "every worker was replaced during it (after its 5,000 or so requests)"
    return f"largest worker memory growth {soak['max_worker_rss_growth_kib'] / 1024:.1f} MiB"


def latency(attack: dict) -> str:
    if attack["p50_ms"] is None:
        return "none answered"
    return f"{attack['p50_ms']:,.0f} / {attack['p99_ms']:,.0f} ms"


def replace_block(text: str, name: str, content: str) -> str:
    """Swaps what stands between <!-- name:start --> and <!-- name:end -->."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)


def rendered_readme() -> str:
    """README.md as it should read with the figures on disk."""
    text = README.read_text()
    metrics = json.loads((contract.ARTIFACTS / contract.DIGITS.metrics_file).read_text())
    card = json.loads((contract.ARTIFACTS / contract.DIGITS.card_file).read_text())
    text = replace_block(text, "model", model_table(metrics, card))
    comparison = contract.ARTIFACTS / "augmentations.json"
    if comparison.is_file():
        text = replace_block(text, "augmentations", augmentations_table(json.loads(comparison.read_text())))
    results_path = ROOT / "bench" / "results.json"
    if results_path.is_file():
        results = json.loads(results_path.read_text())
        text = replace_block(text, "bench", bench_table(results))
        if "numbers" in results:
            text = replace_block(text, "numbers", numbers_table(results["numbers"]))
        if "verdicts" in results:
            text = replace_block(text, "verdicts", verdicts_table(results["verdicts"]))
    return text


def main():
    README.write_text(rendered_readme())
    print(f"updated {README}")


if __name__ == "__main__":
    main()
