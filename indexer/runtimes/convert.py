"""`python -m vitrieve.indexer.runtimes.convert MODEL_DIR OUT H W [--int8-from FP32_XML]`:
writes OUT/model.xml (+ .bin), the ViT's pooler output as an OpenVINO model taking any batch of
normalised HxW pixels, or with --int8-from that fp32 IR with its weights compressed to int8
(NNCF's data-free weight compression).

Run as a child process by `openvino_ir.ensure_ir`, so the memory conversion needs is returned
when it exits. Weights are saved uncompressed: fp16 storage would change the vectors.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any


def convert(model_dir: Path, input_size: tuple[int, int]) -> Any:
    import openvino as ov
    import torch
    from transformers import ViTModel

    class Pooled(torch.nn.Module):
        def __init__(self, vit: torch.nn.Module) -> None:
            super().__init__()
            self.vit = vit

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.vit(pixel_values=pixel_values).pooler_output

    vit = ViTModel.from_pretrained(model_dir, attn_implementation="sdpa", add_pooling_layer=True)
    h, w = input_size
    with torch.inference_mode():
        return ov.convert_model(
            Pooled(vit.float().eval()),
            example_input=torch.zeros(1, 3, h, w),
            input=[ov.PartialShape([-1, 3, h, w])],
        )


def compress(fp32_xml: Path) -> Any:
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)
    model = ov.Core().read_model(fp32_xml)
    return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("height", type=int)
    ap.add_argument("width", type=int)
    ap.add_argument("--int8-from", type=Path, default=None)
    args = ap.parse_args(argv)
    import openvino as ov

    if args.int8_from is not None:
        model = compress(args.int8_from)
    else:
        model = convert(args.model_dir, (args.height, args.width))
    ov.save_model(model, args.out / "model.xml", compress_to_fp16=False)


if __name__ == "__main__":
    main()
