"""The three CNN families camscope bundles, sized to train on two CPU cores in minutes.

All three take N x 3 x 128 x 128 images normalised as (x / 255 - 0.5) / 0.5, reduce them with a
total stride of 16 to an 8 x 8 feature map, and end in global average pooling followed by one
Linear layer, so that plain CAM (class weights times the last feature map) applies to each.

Each model is a `GapClassifier`: `features` (everything up to and including the last spatial
activation), global average pooling, and `classifier` (the Linear layer).
"""

from __future__ import annotations

import torch
from torch import nn


class GapClassifier(nn.Module):
    """features -> global average pooling -> Linear."""

    def __init__(self, features: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)  # exported as GlobalAveragePool
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# --- synth-vgg: plain Conv + ReLU + MaxPool stacks ----------------------------------------------

# (out channels, stride) per 3x3 conv; "M" is a 2x2 max pooling.
VGG_LAYERS: list = [(16, 2), "M", (32, 1), (48, 1), "M", (96, 1), "M", (128, 1), (128, 1)]


def vgg(num_classes: int, batchnorm: bool = True) -> GapClassifier:
    """VGG-style stack of 3x3 Conv + ReLU with 2x2 max pooling: a stride-2 stem conv (128 -> 64;
    a stride-1 conv at full resolution would cost more than the rest of the network on a CPU),
    then pooling 64 -> 32 -> 16 -> 8, two convs at 32 x 32 and 8 x 8, one at 16 x 16.

    With `batchnorm` each conv is followed by a BatchNorm during training only: `fold_batchnorm`
    merges it into the conv afterwards, which leaves the exact same function as a plain
    Conv + ReLU + MaxPool network (what gets exported). A plain stack this deep barely moves from
    chance in the few epochs a CPU can afford; with the BatchNorm it trains like the others."""
    layers: list[nn.Module] = []
    cin = 3
    for spec in VGG_LAYERS:
        if spec == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        cout, stride = spec
        layers.append(nn.Conv2d(cin, cout, 3, stride, 1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
        cin = cout
    model = GapClassifier(nn.Sequential(*layers), cin, num_classes)
    init_weights(model)
    return model


@torch.no_grad()
def fold_batchnorm(model: GapClassifier) -> GapClassifier:
    """The plain (BatchNorm-free) network computing what the eval-mode `model` computes: each
    Conv -> BatchNorm pair of `model.features` becomes one Conv with a bias."""
    layers: list[nn.Module] = []
    modules = list(model.features)
    k = 0
    while k < len(modules):
        m = modules[k]
        if isinstance(m, nn.Conv2d) and k + 1 < len(modules) and isinstance(modules[k + 1], nn.BatchNorm2d):
            bn = modules[k + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=True)
            conv.weight.copy_(m.weight * scale[:, None, None, None])
            bias = m.bias if m.bias is not None else torch.zeros_like(bn.running_mean)
            conv.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            layers.append(conv)
            k += 2
        else:
            layers.append(type(m)(inplace=True) if isinstance(m, nn.ReLU) else m)
            k += 1
    plain = GapClassifier(nn.Sequential(*layers), model.classifier.in_features, model.classifier.out_features)
    plain.classifier.load_state_dict(model.classifier.state_dict())
    return plain.eval()


# --- synth-resnet: BasicBlocks with BatchNorm, identity and projection shortcuts --------------


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN, a ReLU between them and after the sum with the shortcut. The shortcut is
    the identity, or a 1x1 conv + BN projection where the stride or the width changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        # No nn.Identity for the identity shortcut: it would export as an ONNX Identity node.
        self.shortcut: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + (x if self.shortcut is None else self.shortcut(x)))


RESNET_WIDTHS = (24, 48, 96)


def resnet(num_classes: int) -> GapClassifier:
    """ResNet-style: stem conv 3x3/2 + BN + ReLU and 3x3/2 max pooling (128 -> 64 -> 32), then
    BasicBlocks: one at 32 x 32 (identity shortcut), one at 16 x 16 and two at 8 x 8 (the first
    of each halving the resolution through a 1x1 projection shortcut, the last an identity)."""
    w0, w1, w2 = RESNET_WIDTHS
    features = nn.Sequential(
        nn.Conv2d(3, w0, 3, 2, 1, bias=False),
        nn.BatchNorm2d(w0),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),  # 32 x 32
        BasicBlock(w0, w0),  # identity
        BasicBlock(w0, w1, 2),  # 16 x 16, projection
        BasicBlock(w1, w2, 2),  # 8 x 8, projection
        BasicBlock(w2, w2),  # identity
    )
    model = GapClassifier(features, w2, num_classes)
    init_weights(model)
    return model


# --- synth-mobilenet: depthwise-separable inverted residuals, BatchNorm, ReLU6 ----------------


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion + BN + ReLU6 (none when expand == 1), 3x3 depthwise +
    BN + ReLU6, 1x1 linear projection + BN; plus the input where the shape allows."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_relu6(cin, hidden, 1))
        layers.append(conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden))
        layers.append(nn.Conv2d(hidden, cout, 1, bias=False))
        layers.append(nn.BatchNorm2d(cout))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


# (out channels, stride, expansion) per inverted residual block.
MOBILENET_BLOCKS = [
    (24, 2, 1),  # 32 x 32, depthwise-separable
    (24, 1, 4),
    (40, 2, 4),  # 16 x 16
    (40, 1, 4),
    (80, 2, 4),  # 8 x 8
    (80, 1, 4),
    (96, 1, 4),
]
MOBILENET_HEAD = 192


def mobilenet(num_classes: int) -> GapClassifier:
    """MobileNetV2-style: stem conv 3x3/2 + BN + ReLU6 (64 x 64), inverted residual blocks down
    to 8 x 8, then a 1x1 conv + BN + ReLU6 (the last spatial activation) before pooling."""
    layers: list[nn.Module] = [conv_bn_relu6(3, 16, 3, 2)]
    cin = 16
    for cout, stride, expand in MOBILENET_BLOCKS:
        layers.append(InvertedResidual(cin, cout, stride, expand))
        cin = cout
    layers.append(conv_bn_relu6(cin, MOBILENET_HEAD, 1))
    model = GapClassifier(nn.Sequential(*layers), MOBILENET_HEAD, num_classes)
    init_weights(model)
    return model


FAMILIES = {
    "synth-vgg": ("plain", vgg),
    "synth-resnet": ("residual", resnet),
    "synth-mobilenet": ("mobile", mobilenet),
}


def build(name: str, num_classes: int) -> nn.Module:
    return FAMILIES[name][1](num_classes)
