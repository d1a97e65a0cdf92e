"""specs.py: networks and augmentation described in a line of text, as
--layers, --augment and sweeps take them."""

from network3.specs import format_augmentation, parse_augmentation, parse_layers


def test_parse_layers_builds_the_chapters_nets():
    from network3 import ReLU
    layers = parse_layers("conv20,conv40,fc100,softmax", 10, "relu")
    assert [repr(l) for l in layers] == [
        "ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 28, 28), "
        "poolsize=(2, 2), activation_fn=ReLU)",
        "ConvPoolLayer(filter_shape=(40, 20, 5, 5), image_shape=(10, 20, 12, 12), "
        "poolsize=(2, 2), activation_fn=ReLU)",
        "FullyConnectedLayer(n_in=640, n_out=100, activation_fn=ReLU, p_dropout=0.0)",
        "SoftmaxLayer(n_in=100, n_out=10, p_dropout=0.0)"]
    layers = parse_layers("conv4x3p3,fc1000:d0.5,softmax47:d0.5", 5)
    assert layers[0].filter_shape == (4, 1, 3, 3) and layers[0].poolsize == (3, 3)
    assert layers[1].n_in == 4*8*8 and layers[1].p_dropout == 0.5
    assert layers[2].n_out == 47 and layers[1].activation_fn is not ReLU


def test_parse_layers_takes_pooling_and_convolution_options():
    first, second, fc, _ = parse_layers(
        "conv20:l2:pool_stride=1:border_mode=half,"
        "conv40x3p3:average_exc_pad:pool_pad=1x0:subsample=2,fc100,softmax", 10, "relu")
    assert (first.pool_mode, first.pool_stride, first.border_mode) == ("l2", (1, 1), "half")
    assert first.output_shape == (10, 20, 27, 27)      # 'half': 28, pooled at stride 1
    assert second.image_shape == (10, 20, 27, 27)
    assert (second.pool_mode, second.pool_pad, second.subsample) == (
        "average_exc_pad", (1, 0), (2, 2))
    assert second.output_shape == (10, 40, 5, 4)       # 13x13, then 3x3 windows padded
    assert fc.n_in == 40 * 5 * 4
    for text, words in [
            ("conv20:avg,softmax", ["item 0 ('conv20:avg')", "unknown option 'avg'",
                                    "l2", "pool_stride="]),
            ("conv20:border_mode=same,softmax", ["border_mode", "valid, full, half",
                                                 "'same'"]),
            ("conv20:pool_pad=2,softmax", ["pool_pad=(2, 2)", "smaller than poolsize"]),
            ("conv20:subsample=0,softmax", ["subsample[0]", "positive"]),
            ("conv20:d0.5,softmax", ["convolutional layers take no dropout"]),
            ("fc10:l2,softmax", ["item 0 ('fc10:l2')", "must be d<P>"])]:
        try:
            parse_layers(text, 10)
        except ValueError as error:
            assert all(word in str(error) for word in words), (text, str(error))
        else:
            raise AssertionError("{0!r} was accepted".format(text))


def test_augment_descriptions_read_back():
    from network3 import Augmentation, chapter
    for augment in (chapter.AUGMENTATION, Augmentation(scale=0.1, method="scipy"),
                    Augmentation(shear=7.5, elastic=(8, 2.5))):
        assert parse_augmentation(format_augmentation(augment)) == augment
