"""Role detection on workflows shaped the way users really build them, as "Export (API)" writes
them: SD3.5 (TripleCLIPLoader, CLIPTextEncodeSD3, the zeroed-negative timestep split of
ComfyUI's own SD3.5 example), a LoRA chain with an upscaler and a preview, prompt/seed/size from
primitive and custom nodes (nodes_primitive.py, rgthree's "Seed (rgthree)", Comfyroll's aspect
ratio node), img2img from LoadImage + VAEEncode, FLUX with FluxGuidance + ModelSamplingFlux,
an Efficiency Nodes loader that encodes its own text, and files that still hold editor-only
nodes (Note, Reroute), which the server refuses (execution.validate_prompt)."""

from __future__ import annotations

import json

import pytest

from llm2pic.errors import ConfigurationError
from llm2pic.backends.comfyui.workflow import Workflow, parse_workflow


def workflow_of(graph, mapping=None) -> Workflow:
    return Workflow(parse_workflow(json.dumps(graph), "test"), "test", mapping)


def roles_of(graph, mapping=None) -> dict:
    return dict(workflow_of(graph, mapping).roles.targets)


SD35 = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd3.5_large.safetensors"}},
    "11": {"class_type": "TripleCLIPLoader", "inputs": {"clip_name1": "clip_l.safetensors", "clip_name2": "clip_g.safetensors", "clip_name3": "t5xxl_fp16.safetensors"}},
    "13": {"class_type": "ModelSamplingSD3", "inputs": {"shift": 3.0, "model": ["4", 0]}},
    "16": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["11", 0]}},
    "40": {"class_type": "CLIPTextEncode", "inputs": {"text": "bad", "clip": ["11", 0]}},
    "67": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["40", 0]}},
    "68": {"class_type": "ConditioningSetTimestepRange", "inputs": {"start": 0.1, "end": 1.0, "conditioning": ["67", 0]}},
    "70": {"class_type": "ConditioningSetTimestepRange", "inputs": {"start": 0.0, "end": 0.1, "conditioning": ["40", 0]}},
    "69": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["68", 0], "conditioning_2": ["70", 0]}},
    "53": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 28, "cfg": 4.5, "sampler_name": "dpmpp_2m", "scheduler": "sgm_uniform", "denoise": 1.0,
        "model": ["13", 0], "positive": ["16", 0], "negative": ["69", 0], "latent_image": ["53", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "SD3.5", "images": ["8", 0]}},
}
SD35_ENC = {**SD35, "16": {"class_type": "CLIPTextEncodeSD3", "inputs": {"clip_l": "a", "clip_g": "a", "t5xxl": "a", "empty_padding": "none", "clip": ["11", 0]}}}
LORA = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "10": {"class_type": "LoraLoader", "inputs": {"lora_name": "a.safetensors", "strength_model": 1.0, "strength_clip": 1.0, "model": ["4", 0], "clip": ["4", 1]}},
    "11": {"class_type": "LoraLoader", "inputs": {"lora_name": "b.safetensors", "strength_model": 0.6, "strength_clip": 0.6, "model": ["10", 0], "clip": ["10", 1]}},
    "12": {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": -2, "clip": ["11", 1]}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["12", 0]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "n", "clip": ["12", 0]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
        "model": ["11", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "20": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-UltraSharp.pth"}},
    "21": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["20", 0], "image": ["8", 0]}},
    "22": {"class_type": "ImageScaleBy", "inputs": {"upscale_method": "lanczos", "scale_by": 0.5, "image": ["21", 0]}},
    "23": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "final", "images": ["22", 0]}},
}
PRIMS = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
    "30": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a castle"}},
    "31": {"class_type": "Seed (rgthree)", "inputs": {"seed": -1}},
    "32": {"class_type": "PrimitiveInt", "inputs": {"value": 1216}},
    "33": {"class_type": "PrimitiveInt", "inputs": {"value": 832}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["30", 0], "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["4", 1]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": ["33", 0], "height": ["32", 0], "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {"seed": ["31", 0], "steps": 20, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
        "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}
IMG2IMG = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
    "10": {"class_type": "LoadImage", "inputs": {"image": "example.png", "upload": "image"}},
    "11": {"class_type": "ImageScale", "inputs": {"upscale_method": "nearest-exact", "width": 768, "height": 768, "crop": "center", "image": ["10", 0]}},
    "12": {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["4", 2]}},
    "13": {"class_type": "RepeatLatentBatch", "inputs": {"amount": 1, "samples": ["12", 0]}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "n", "clip": ["4", 1]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "denoise": 0.6,
        "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["13", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "i2i", "images": ["8", 0]}},
}
FLUXG = {
    "10": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "fp8_e4m3fn"}},
    "11": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "t5xxl_fp8.safetensors", "clip_name2": "clip_l.safetensors", "type": "flux"}},
    "12": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["11", 0]}},
    "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
    "22": {"class_type": "BasicGuider", "inputs": {"model": ["30", 0], "conditioning": ["26", 0]}},
    "30": {"class_type": "ModelSamplingFlux", "inputs": {"max_shift": 1.15, "base_shift": 0.5, "width": 1024, "height": 1024, "model": ["10", 0]}},
    "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
    "16": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
    "17": {"class_type": "BasicScheduler", "inputs": {"scheduler": "simple", "steps": 20, "denoise": 1, "model": ["30", 0]}},
    "27": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "13": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["25", 0], "guider": ["22", 0], "sampler": ["16", 0], "sigmas": ["17", 0], "latent_image": ["27", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["12", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "flux", "images": ["8", 0]}},
}
EFFICIENT = {
    "1": {"class_type": "Efficient Loader", "inputs": {
        "ckpt_name": "dreamshaper_8.safetensors", "vae_name": "Baked VAE", "clip_skip": -2, "lora_name": "None",
        "lora_model_strength": 1, "lora_clip_strength": 1, "positive": "a cat", "negative": "blurry",
        "token_normalization": "none", "weight_interpretation": "comfy", "empty_latent_width": 512,
        "empty_latent_height": 768, "batch_size": 1}},
    "2": {"class_type": "KSampler (Efficient)", "inputs": {
        "seed": 42, "steps": 25, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
        "preview_method": "auto", "vae_decode": "true", "model": ["1", 0], "positive": ["1", 1],
        "negative": ["1", 2], "latent_image": ["1", 3], "optional_vae": ["1", 4]}},
    "3": {"class_type": "SaveImage", "inputs": {"filename_prefix": "eff", "images": ["2", 5]}},
}
ASPECT = {
    **{key: node for key, node in PRIMS.items() if key not in ("31", "32", "33")},
    "40": {"class_type": "CR SDXL Aspect Ratio", "inputs": {"width": 1024, "height": 1024,
                                                            "aspect_ratio": "3:4 portrait 896x1152",
                                                            "swap_dimensions": "Off", "upscale_factor": 1.5,
                                                            "batch_size": 1}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": ["40", 0], "height": ["40", 1],
                                                       "batch_size": ["40", 3]}},
    "3": {**PRIMS["3"], "inputs": {**PRIMS["3"]["inputs"], "seed": 8}},
}
WITH_EDITOR_NODES = {
    **LORA,
    "50": {"class_type": "Note", "inputs": {"text": "LoRA strengths: keep under 0.8"}},
    "51": {"class_type": "MarkdownNote", "inputs": {"text": "# read me"}},
    "52": {"class_type": "Reroute", "inputs": {"": ["6", 0]}},
    "53": {"class_type": "Reroute", "inputs": {"": ["52", 0]}},
    "3": {**LORA["3"], "inputs": {**LORA["3"]["inputs"], "positive": ["53", 0]}},
}


def test_sd35_triple_clip_and_timestep_split_negative():
    roles = roles_of(SD35)
    assert roles["prompt"] == [("16", "text")]
    assert roles["negative_prompt"] == [("40", "text")]
    assert roles["seed"] == [("3", "seed")] and roles["steps"] == [("3", "steps")]
    assert roles["width"] == [("53", "width")] and roles["batch"] == [("53", "batch_size")]
    assert roles["model"] == [("4", "ckpt_name")]


def test_sd35_three_text_encoder_inputs_all_get_the_prompt():
    assert sorted(roles_of(SD35_ENC)["prompt"]) == [("16", "clip_g"), ("16", "clip_l"), ("16", "t5xxl")]


def test_lora_chain_with_upscaler_prefers_the_final_save_over_the_preview():
    workflow = workflow_of(LORA)
    roles = workflow.roles.targets
    assert roles["prompt"] == [("6", "text")] and roles["negative_prompt"] == [("7", "text")]
    assert roles["model"] == [("4", "ckpt_name")]  # the checkpoint, not a LoRA file
    assert workflow.roles.outputs == ["9", "23"]  # SaveImage after ImageScaleBy first, the preview last


def test_prompt_seed_and_size_from_primitive_and_custom_nodes():
    roles = roles_of(PRIMS)
    assert roles["prompt"] == [("30", "value")]
    assert roles["seed"] == [("31", "seed")]
    assert roles["width"] == [("33", "value")] and roles["height"] == [("32", "value")]
    filled = workflow_of(PRIMS).fill({"prompt": "a dog", "seed": 99, "width": 640, "height": 960})
    assert filled["30"]["inputs"]["value"] == "a dog" and filled["31"]["inputs"]["seed"] == 99
    assert (filled["33"]["inputs"]["value"], filled["32"]["inputs"]["value"]) == (640, 960)
    assert filled["6"]["inputs"]["text"] == ["30", 0]  # the link stays a link


def test_a_size_node_with_several_values_is_read_by_input_name():
    roles = roles_of(ASPECT)
    assert roles["width"] == [("40", "width")] and roles["height"] == [("40", "height")]
    assert roles["batch"] == [("40", "batch_size")]


def test_img2img_finds_the_load_image_and_leaves_the_size_to_the_picture():
    roles = roles_of(IMG2IMG)
    assert roles["image"] == [("10", "image")]
    assert roles["prompt"] == [("6", "text")] and roles["seed"] == [("3", "seed")]
    assert "width" not in roles and "batch" not in roles


def test_flux_with_guidance_and_model_sampling_size():
    roles = roles_of(FLUXG)
    assert roles["prompt"] == [("6", "text")] and "negative_prompt" not in roles
    assert roles["seed"] == [("25", "noise_seed")] and roles["steps"] == [("17", "steps")]
    assert sorted(roles["width"]) == [("27", "width"), ("30", "width")]
    assert roles["model"] == [("10", "unet_name")]


def test_all_in_one_loader_with_its_own_text_and_latent_size():
    roles = roles_of(EFFICIENT)
    assert roles["prompt"] == [("1", "positive")] and roles["negative_prompt"] == [("1", "negative")]
    assert roles["seed"] == [("2", "seed")] and roles["steps"] == [("2", "steps")]
    assert roles["width"] == [("1", "empty_latent_width")] and roles["height"] == [("1", "empty_latent_height")]
    assert roles["batch"] == [("1", "batch_size")]


def test_editor_only_nodes_are_dropped_and_reroutes_wired_through():
    workflow = workflow_of(WITH_EDITOR_NODES)
    assert not {"50", "51", "52", "53"} & set(workflow.graph)
    assert "Note" not in workflow.class_types and "Reroute" not in workflow.class_types
    assert workflow.graph["3"]["inputs"]["positive"] == ["6", 0]
    assert workflow.roles.targets["prompt"] == [("6", "text")]


def test_an_editor_node_holding_a_value_is_refused_with_the_fix():
    graph = {**LORA, "60": {"class_type": "PrimitiveNode", "inputs": {"value": 5}},
             "3": {**LORA["3"], "inputs": {**LORA["3"]["inputs"], "seed": ["60", 0]}}}
    with pytest.raises(ConfigurationError) as caught:
        parse_workflow(json.dumps(graph), "wf.json")
    assert "node 60 (PrimitiveNode)" in caught.value.detail and "Export (API)" in caught.value.detail


def test_a_prompt_built_by_joining_strings_is_not_guessed():
    concat = {**LORA, "30": {"class_type": "StringConcatenate",
                             "inputs": {"string_a": "masterpiece", "string_b": "a cat", "delimiter": ", "}},
              "6": {**LORA["6"], "inputs": {**LORA["6"]["inputs"], "text": ["30", 0]}}}
    roles = roles_of(concat)
    assert "prompt" not in roles  # ambiguous: nodes.prompt names it (doctor says "not found")
    assert roles_of(concat, {"prompt": "30.string_b"})["prompt"] == [("30", "string_b")]


def test_a_custom_save_node_counts_as_an_output_and_its_prefix_busts_the_cache():
    graph = {**{key: node for key, node in LORA.items() if key != "9"},
             "9": {"class_type": "Image Save", "inputs": {"output_path": "[time(%Y-%m-%d)]", "filename_prefix": "wf",
                                                         "extension": "png", "images": ["22", 0]}},
             "24": {"class_type": "ImageSaveNote", "inputs": {"text": "not an image node"}}}
    workflow = workflow_of(graph)
    assert workflow.roles.outputs == ["9", "23"]
    filled = workflow.fill({})
    assert workflow.bust_output_cache(filled, "t1") and filled["9"]["inputs"]["filename_prefix"] == "wf_t1"


# ComfyUI-Easy-Use: a loader that encodes its own text and a sampler fed by its "pipe".
EASY_PIPE = {
    "1": {"class_type": "easy fullLoader", "inputs": {
        "ckpt_name": "juggernautXL.safetensors", "config_name": "Default", "vae_name": "Baked VAE", "clip_skip": -2,
        "lora_name": "None", "lora_model_strength": 1, "lora_clip_strength": 1, "resolution": "width x height (custom)",
        "empty_latent_width": 832, "empty_latent_height": 1216, "positive": "a cat", "positive_token_normalization":
        "none", "positive_weight_interpretation": "comfy", "negative": "lowres", "negative_token_normalization": "none",
        "negative_weight_interpretation": "comfy", "batch_size": 1}},
    "2": {"class_type": "easy fullkSampler", "inputs": {
        "pipe": ["1", 0], "steps": 30, "cfg": 6, "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 1,
        "image_output": "Save", "link_id": 0, "save_prefix": "ComfyUI", "seed": 11}},
}


def test_a_pipe_workflow_without_a_conditioning_sampler_uses_the_loader_and_sampler_inputs():
    roles = roles_of(EASY_PIPE)
    assert roles["prompt"] == [("1", "positive")] and roles["negative_prompt"] == [("1", "negative")]
    assert roles["width"] == [("1", "empty_latent_width")] and roles["batch"] == [("1", "batch_size")]
    assert roles["seed"] == [("2", "seed")] and roles["steps"] == [("2", "steps")]
    assert roles["model"] == [("1", "ckpt_name")]
