"""How training digits are changed each epoch to look like digits people draw on screens.

MNIST was written with pens on paper forms and scanned; the digits this model reads
are drawn with a mouse, a finger or a stylus. Each change below imitates one way
they differ, and `python -m train.train --augment ...` turns them on one by one so
each can be measured on the validation split (README: "Augmentation, one by one"):

  pose     a little rotation, zoom and shift: where and how big people draw;
  aspect   width and height scaled independently: wide 1s, narrow 0s, tall 7s;
  shear    slanted handwriting, either way;
  elastic  smooth random warps: wobbly lines and uneven loops;
  pen      the digit thinned to its skeleton and drawn again with a round brush of
           random width (a uniform-width pen line); otherwise strokes are made a
           little bolder or thinner, as pens and fingers draw lines of every width.
"""

import numpy as np
import tensorflow as tf
from keras import layers
from skimage.morphology import skeletonize

CHOICES = ("pose", "aspect", "shear", "elastic", "pen")
CHOSEN = ("pose", "aspect", "shear")  # by the short runs on validation (README: "Augmentation, one by one")
INKED = 0.3  # of full ink: a pixel that is part of a stroke, for the skeleton
BRUSHES = (0.5, 0.8, 1.1, 1.4)  # px: the Gaussian pen's sigma, thin to bold, at 28x28
REDRAWN = 0.5  # the share of digits drawn again with the pen


def augmenter(choices: tuple[str, ...]) -> "Augmenter":
    """The chosen changes, in the order a drawing goes through them: the pen, then the
    geometry, all of it one resampling (each resampling blurs a little more)."""
    return Augmenter(RandomPen() if "pen" in choices else RandomStrokeWidth(), RandomWarp(
        turn=12 if "pose" in choices else 0, zoom=0.15 if "pose" in choices else 0,
        shift=0.1 if "pose" in choices else 0, stretch=0.25 if "aspect" in choices else 0,
        slant=0.25 if "shear" in choices else 0, elastic=1.0 if "elastic" in choices else 0))


class Augmenter(layers.Layer):
    """A pen change (on (images, skeletons) for RandomPen, images alone otherwise),
    then a warp of the images."""

    def __init__(self, pen: layers.Layer, warp: layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.pen, self.warp = pen, warp

    def call(self, inputs, training=True):
        return self.warp(self.pen(inputs, training=training), training=training)


def skeletons(images: np.ndarray) -> np.ndarray:
    """float32 (N, 28, 28, 1): each image's strokes thinned to lines one pixel wide."""
    return np.stack([skeletonize(image[..., 0] > INKED) for image in images])[..., None].astype(np.float32)


class RandomStrokeWidth(layers.Layer):
    """Makes strokes bolder (grey dilation) or thinner (grey erosion) on a third of the
    images each."""

    def call(self, images, training=True):
        choice = tf.random.uniform((tf.shape(images)[0], 1, 1, 1), maxval=3, dtype=tf.int32)
        bolder = tf.nn.max_pool2d(images, 2, 1, "SAME")
        thinner = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
        return tf.where(choice == 0, bolder, tf.where(choice == 1, thinner, images))


class RandomPen(layers.Layer):
    """Draws REDRAWN of the digits again along their skeletons with a round pen of a
    random width (a Gaussian brush: its line is ink-bright in the middle and fades
    at the edges, as an antialiased canvas line does); the rest keep their strokes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        offsets = np.arange(-4, 5, dtype=np.float32)
        bells = np.exp(-offsets[:, None] ** 2 / (2 * np.array(BRUSHES) ** 2))  # (9, brushes)
        # A line blurred by a normalised 2-D Gaussian peaks at 1 / (sqrt(2 pi) sigma): scaled
        # 1.6 times past that, its middle is full ink and its width grows with sigma. The
        # Gaussian is separable: a column pass makes one channel per brush, a row pass each.
        bells = bells / bells.sum(axis=0) * np.sqrt(np.sqrt(2 * np.pi) * np.array(BRUSHES) * 1.6)
        self.columns = tf.constant(bells[:, None, None, :], tf.float32)  # (9, 1, 1, brushes)
        self.rows = tf.constant(bells[None, :, :, None], tf.float32)  # (1, 9, brushes, 1)

    def call(self, inputs, training=True):
        images, skeletons = inputs
        blurred = tf.nn.depthwise_conv2d(tf.nn.conv2d(skeletons, self.columns, 1, "SAME"), self.rows, [1, 1, 1, 1], "SAME")
        drawn = tf.clip_by_value(blurred, 0, 1)
        count = tf.shape(images)[0]
        brush = tf.one_hot(tf.random.uniform((count,), maxval=len(BRUSHES), dtype=tf.int32), len(BRUSHES))
        redrawn = tf.reduce_sum(drawn * brush[:, None, None, :], axis=-1, keepdims=True)
        chosen = tf.random.uniform((count, 1, 1, 1)) < REDRAWN
        return tf.where(chosen, redrawn, images)


class RandomWarp(layers.Layer):
    """Every image moved, turned, zoomed, stretched, slanted and bent at random, in one
    bilinear resampling. Each output pixel samples the input at an affine map of its
    place about the centre (turn up to `turn` degrees; zoom both ways by up to `zoom`;
    then width alone by up to `stretch`; slant x by up to `slant` of y; shift by up to
    `shift` of the side), plus an elastic field: a coarse GRID of random shifts of
    `elastic` px standard deviation, upsampled, so a digit bends a few times, smoothly.
    Keras' own elastic layer costs about a second per batch of 128 on a CPU."""

    GRID = 4

    def __init__(self, turn=0.0, zoom=0.0, shift=0.0, stretch=0.0, slant=0.0, elastic=0.0, **kwargs):
        super().__init__(**kwargs)
        self.turn, self.zoom, self.shift = np.radians(turn), zoom, shift
        self.stretch, self.slant, self.elastic = stretch, slant, elastic

    def call(self, images, training=True):
        count, side = tf.shape(images)[0], images.shape[1]

        def uniform(most):
            return tf.random.uniform((count, 1, 1), -most, most)

        angle, zoom, stretch, slant = uniform(self.turn), 1 + uniform(self.zoom), 1 + uniform(self.stretch), uniform(self.slant)
        centre = (side - 1) / 2
        rows, cols = tf.meshgrid(tf.range(side, dtype=tf.float32) - centre, tf.range(side, dtype=tf.float32) - centre,
                                 indexing="ij")
        # Undo the shift, the turn, the slant and the scaling, in that order, to find where each pixel came from.
        y, x = rows - uniform(self.shift) * side, cols - uniform(self.shift) * side
        y, x = tf.cos(angle) * y + tf.sin(angle) * x, -tf.sin(angle) * y + tf.cos(angle) * x
        x = x - slant * y
        y, x = y / zoom, x / (zoom * stretch)
        if self.elastic:
            coarse = tf.random.normal((count, self.GRID, self.GRID, 2), stddev=self.elastic)
            flow = tf.image.resize(coarse, (side, side), method="bicubic")
            y, x = y + flow[..., 0], x + flow[..., 1]
        return bilinear(images, y + centre, x + centre)


def bilinear(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """`images` (N, H, W, 1) sampled at fractional (rows, cols) (N, H, W); blank outside."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # a blank border to sample outside from
    rows = tf.clip_by_value(rows + 1, 0, tf.cast(height, tf.float32) + 1)
    cols = tf.clip_by_value(cols + 1, 0, tf.cast(width, tf.float32) + 1)
    top, left = tf.floor(rows), tf.floor(cols)
    down, right = rows - top, cols - left
    top, left = tf.cast(top, tf.int32), tf.cast(left, tf.int32)
    bottom, rightmost = tf.minimum(top + 1, height + 1), tf.minimum(left + 1, width + 1)

    def at(r, c):
        return tf.gather_nd(padded, tf.stack([r, c], axis=-1), batch_dims=1)

    return ((at(top, left) * (1 - right) + at(top, rightmost) * right) * (1 - down)
            + (at(bottom, left) * (1 - right) + at(bottom, rightmost) * right) * down)[..., None]
