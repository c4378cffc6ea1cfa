"""Writes a tiny random-weight Stable Diffusion pipeline to a folder, the way diffusers' own fast
tests build their dummy components (tests/pipelines/stable_diffusion/test_stable_diffusion.py,
get_dummy_components): a tiny UNet, VAE and CLIP text model, plus a tiny tokenizer vocabulary
written here. Nothing is downloaded. Run with the Space test env's Python (tests/space_env):

    make_tiny_pipeline.py OUT_DIR

writes OUT_DIR/tiny-sd (no safety checker, as SDXL ships) and OUT_DIR/tiny-sd-nsfw, whose tiny
safety checker has concept thresholds that flag every image, so the pipeline returns its black
image and `nsfw_content_detected = [True, ...]` as the real checker does for a flagged image.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
from transformers import CLIPConfig, CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTokenizer


def bytes_to_unicode() -> list[str]:
    """The 256 printable characters CLIP's byte-level BPE uses for the bytes 0..255."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tokenizer_files(folder: Path) -> None:
    """A character-level CLIP vocabulary (every byte, alone and word-final) and no merges."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in bytes_to_unicode():
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")


def tiny_pipeline(nsfw: bool) -> StableDiffusionPipeline:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    torch.manual_seed(0)
    # Four blocks: the real 8x latent scale factor, so a 1024 px image stays cheap for the UNet.
    vae = AutoencoderKL(
        block_out_channels=[4, 4, 4, 4], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4, norm_num_groups=2)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=5, vocab_size=1000))
    with tempfile.TemporaryDirectory() as vocab_dir:
        write_tokenizer_files(Path(vocab_dir))
        tokenizer = CLIPTokenizer.from_pretrained(vocab_dir, model_max_length=77)
    safety_checker = feature_extractor = None
    if nsfw:
        torch.manual_seed(0)
        safety_checker = StableDiffusionSafetyChecker(CLIPConfig(
            text_config={"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1, "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                         "num_hidden_layers": 2, "vocab_size": 1000},
            vision_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                           "num_hidden_layers": 2, "image_size": 32, "patch_size": 4},
            projection_dim=32))
        with torch.no_grad():  # cosine distance - threshold > 0 for every concept: every image is flagged
            safety_checker.concept_embeds_weights.fill_(-2.0)
        feature_extractor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=safety_checker,
                                   feature_extractor=feature_extractor, requires_safety_checker=nsfw)


def main() -> None:
    out = Path(sys.argv[1])
    tiny_pipeline(nsfw=False).save_pretrained(out / "tiny-sd")
    tiny_pipeline(nsfw=True).save_pretrained(out / "tiny-sd-nsfw")
    print(f"tiny pipelines written to {out}")


if __name__ == "__main__":
    main()
