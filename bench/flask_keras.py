"""The usual alternative, run only to be measured against: Flask + Keras in TensorFlow.

What the original project and most tutorials do: Flask's own server, the Keras model
kept in memory, `model.predict` per request. Same model (artifacts/mnist.keras) and
the same preprocessing as the real service, so the comparison is of serving stacks.
Usage: python -m bench.flask_keras PORT
"""

import sys

import flask
import keras

import contract
from serve import preprocess

model = keras.models.load_model(contract.ARTIFACTS / contract.DIGITS.keras_file)
app = flask.Flask(__name__)


@app.post("/api/predict")
def predict():
    field = preprocess.from_bytes(flask.request.get_data())
    probabilities = model.predict(field[None, ..., None], verbose=0)[0][:contract.NOT_A_DIGIT]
    return {"digit": int(probabilities.argmax()), "confidence": float(probabilities.max()),
            "probabilities": probabilities.tolist()}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
