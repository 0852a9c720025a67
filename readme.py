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

ROOT = Path(__file__).resolve().parent
README = ROOT / "README.md"


def model_table(metrics: dict, card: dict) -> str:
    per_class = " · ".join(f"{d}: {a:.2%}" for d, a in enumerate(metrics["per_class_accuracy"]))
    rows = [
        ("Test accuracy (10,000 MNIST test images, Keras)", f"**{metrics['test_accuracy']:.2%}** "
                                                            f"({metrics['test_errors']} errors)"),
        ("Test accuracy in onnxruntime (the served model)", f"{card['test_accuracy']:.2%}"),
        ("ONNX vs Keras, max probability difference", f"{card['parity']['max_probability_difference']:.1e}"),
        ("Best validation accuracy (5,000 held-out training images)",
         f"{metrics['best_val_accuracy']:.2%} at epoch {metrics['best_epoch']} of {metrics['epochs']}"),
        ("Parameters / ONNX file", f"{metrics['parameters']:,} / {card['bytes'] / 1e6:.2f} MB"),
        ("Training wall time", f"{metrics['wall_time_seconds'] / 60:.1f} min on {metrics['cpu_count']} CPU cores"),
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
        f"Python {m['python']}; wrk and the servers share the machine, {results['seconds_per_load']} s per load. "
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
        f"{drawn['mnist_test_images_as_they_are']:.2%}; the same digits photographed on unevenly lit paper: "
        f"{drawn['photos_on_paper']:.2%}. (All 10,000 drawn through the HTTP API: tests/test_drawn_accuracy.py.)",
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
    metrics = json.loads((contract.ARTIFACTS / contract.METRICS_FILE).read_text())
    card = json.loads((contract.ARTIFACTS / contract.CARD_FILE).read_text())
    text = replace_block(text, "model", model_table(metrics, card))
    results_path = ROOT / "bench" / "results.json"
    if results_path.is_file():
        text = replace_block(text, "bench", bench_table(json.loads(results_path.read_text())))
    return text


def main():
    README.write_text(rendered_readme())
    print(f"updated {README}")


if __name__ == "__main__":
    main()
