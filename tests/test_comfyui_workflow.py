"""Finding the roles of ComfyUI API-format workflows of different shapes (node classes as in
upstream nodes.py and comfy_extras/nodes_custom_sampler.py, nodes_flux.py, nodes_primitive.py,
nodes_sd3.py), and filling a copy without touching the template."""

from __future__ import annotations

import json

import pytest

from llm2pic.errors import ConfigurationError
from llm2pic.backends.comfyui.workflow import Workflow, load_workflow, parse_workflow


def roles_of(graph, mapping=None) -> dict:
    workflow = Workflow(parse_workflow(json.dumps(graph), "test"), "test", mapping)
    return {role: targets for role, targets in workflow.roles.targets.items()}


FLUX_ENCODER = {
    "a1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}},
    "a2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "t5.safetensors", "clip_name2": "clip_l.safetensors",
                                                      "type": "flux"}},
    "b1": {"class_type": "CLIPTextEncodeFlux", "inputs": {"clip": ["a2", 0], "clip_l": "x", "t5xxl": "x",
                                                          "guidance": 3.5}},
    "b2": {"class_type": "BasicGuider", "inputs": {"model": ["a1", 0], "conditioning": ["b1", 0]}},
    "b3": {"class_type": "RandomNoise", "inputs": {"noise_seed": 3}},
    "b4": {"class_type": "BasicScheduler", "inputs": {"model": ["a1", 0], "scheduler": "simple", "steps": 20,
                                                      "denoise": 1.0}},
    "b5": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
    "b6": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
    "b7": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["b3", 0], "guider": ["b2", 0],
                                                             "sampler": ["b5", 0], "sigmas": ["b4", 0],
                                                             "latent_image": ["b6", 0]}},
    "c1": {"class_type": "VAEDecode", "inputs": {"samples": ["b7", 0], "vae": ["a1", 0]}},
    "c2": {"class_type": "PreviewImage", "inputs": {"images": ["c1", 0]}},
}


def test_flux_text_encoder_gets_both_text_inputs_and_custom_sampler_roles():
    roles = roles_of(FLUX_ENCODER)
    assert roles["prompt"] == [("b1", "clip_l"), ("b1", "t5xxl")]
    assert "negative_prompt" not in roles
    assert roles["seed"] == [("b3", "noise_seed")] and roles["steps"] == [("b4", "steps")]
    assert roles["width"] == [("b6", "width")] and roles["batch"] == [("b6", "batch_size")]
    assert roles["model"] == [("a1", "unet_name")]


CFG_GUIDER = {
    **{key: value for key, value in FLUX_ENCODER.items() if key not in ("b1", "b2")},
    "b1": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["a2", 0]}},
    "b0": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["b1", 0]}},
    "b2": {"class_type": "CFGGuider", "inputs": {"model": ["a1", 0], "positive": ["b9", 0], "negative": ["b0", 0],
                                                 "cfg": 1.0}},
    "b9": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["b1", 0], "guidance": 3.5}},
}


def test_cfg_guider_with_zeroed_negative_sets_only_the_prompt():
    roles = roles_of(CFG_GUIDER)
    assert roles["prompt"] == [("b1", "text")] and "negative_prompt" not in roles


HIRES = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "n", "clip": ["1", 1]}},
    "4": {"class_type": "LatentUpscale", "inputs": {"samples": ["9", 0], "upscale_method": "nearest-exact",
                                                    "width": 2048, "height": 2048, "crop": "disabled"}},
    "5": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 1, "steps": 10, "cfg": 5, "sampler_name": "euler",
                                               "scheduler": "normal", "positive": ["2", 0], "negative": ["3", 0],
                                               "latent_image": ["4", 0], "denoise": 0.5}},
    "8": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "9": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 2, "steps": 25, "cfg": 5, "sampler_name": "euler",
                                               "scheduler": "normal", "positive": ["2", 0], "negative": ["3", 0],
                                               "latent_image": ["8", 0], "denoise": 1.0}},
    "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}},
    "11": {"class_type": "PreviewImage", "inputs": {"images": ["10", 0]}},
    "12": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
    "13": {"class_type": "SaveImage", "inputs": {"filename_prefix": "hires", "images": ["12", 0]}},
}


def test_hires_fix_uses_the_first_pass_sampler_and_prefers_the_final_output():
    workflow = Workflow(parse_workflow(json.dumps(HIRES), "hires"), "hires")
    roles = workflow.roles
    assert roles.sampler == "9"
    assert roles.targets["seed"] == [("9", "seed")] and roles.targets["width"] == [("8", "width")]
    assert roles.targets["prompt"] == [("2", "text")] and roles.targets["negative_prompt"] == [("3", "text")]
    assert roles.outputs == ["13", "11"]  # the upscaled SaveImage has more ancestors


def test_fill_returns_a_new_graph_and_leaves_the_template_alone():
    workflow = load_workflow("")
    graph = workflow.fill({"prompt": "new", "seed": 5, "width": 640, "height": 448, "batch": 2})
    assert graph["6"]["inputs"]["text"] == "new" and graph["3"]["inputs"]["seed"] == 5
    assert graph["5"]["inputs"] == {"width": 640, "height": 448, "batch_size": 2}
    assert workflow.graph["6"]["inputs"]["text"] == "a photo of a cat" and workflow.graph["3"]["inputs"]["seed"] == 0


def test_subgraph_style_ids_and_a_saved_prompt_body_are_accepted():
    graph = {"prompt": {f"7:{key}": {**node, "inputs": {k: [f"7:{v[0]}", v[1]] if isinstance(v, list) else v
                                                        for k, v in node["inputs"].items()}}
                        for key, node in load_workflow("").graph.items()}, "client_id": "x"}
    roles = roles_of(graph)
    assert roles["prompt"] == [("7:6", "text")] and roles["seed"] == [("7:3", "seed")]


@pytest.mark.parametrize("graph, message", [
    ({"nodes": [], "links": []}, "Export (API)"),
    ({"1": {"inputs": {}}}, "no class_type"),
    ({"1": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0]}}}, "links to missing node 9"),
    ([1, 2], "not an API-format workflow"),
])
def test_bad_workflows_name_the_problem(graph, message):
    with pytest.raises(ConfigurationError) as caught:
        parse_workflow(json.dumps(graph), "wf.json")
    assert message in caught.value.detail


def test_nodes_mapping_is_checked_against_the_graph():
    with pytest.raises(ConfigurationError) as caught:
        roles_of(HIRES, {"seed": "9.noise_seed"})
    assert "node 9 (KSampler) has no input 'noise_seed'" in caught.value.detail
    assert roles_of(HIRES, {"seed": "5.seed"})["seed"] == [("5", "seed")]


def test_unknown_builtin_is_refused():
    with pytest.raises(ConfigurationError) as caught:
        load_workflow("builtin:sd3")
    assert "builtin:checkpoint or builtin:flux" in caught.value.detail


REFINER = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"}},
    "3": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": "p", "text_l": "p", "width": 4096, "height": 4096,
                                                         "crop_w": 0, "crop_h": 0, "target_width": 4096,
                                                         "target_height": 4096, "clip": ["1", 1]}},
    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "n", "clip": ["1", 1]}},
    "5": {"class_type": "CLIPTextEncodeSDXLRefiner", "inputs": {"ascore": 6, "width": 1024, "height": 1024,
                                                                "text": "p", "clip": ["2", 1]}},
    "6": {"class_type": "CLIPTextEncodeSDXLRefiner", "inputs": {"ascore": 2.5, "width": 1024, "height": 1024,
                                                                "text": "n", "clip": ["2", 1]}},
    "7": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "8": {"class_type": "Reroute", "inputs": {"": ["3", 0]}},
    "10": {"class_type": "KSamplerAdvanced", "inputs": {
        "model": ["1", 0], "add_noise": "enable", "noise_seed": 1, "steps": 25, "cfg": 8, "sampler_name": "euler",
        "scheduler": "normal", "positive": ["8", 0], "negative": ["4", 0], "latent_image": ["7", 0],
        "start_at_step": 0, "end_at_step": 20, "return_with_leftover_noise": "enable"}},
    "11": {"class_type": "KSamplerAdvanced", "inputs": {
        "model": ["2", 0], "add_noise": "disable", "noise_seed": 1, "steps": 25, "cfg": 8, "sampler_name": "euler",
        "scheduler": "normal", "positive": ["5", 0], "negative": ["6", 0], "latent_image": ["10", 0],
        "start_at_step": 20, "end_at_step": 10000, "return_with_leftover_noise": "disable"}},
    "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["2", 2]}},
    "13": {"class_type": "SaveImage", "inputs": {"filename_prefix": "refined", "images": ["12", 0]}},
}


def test_sdxl_refiner_encoders_get_the_prompt_too_and_conditioning_reroutes_are_followed():
    roles = roles_of(REFINER)
    assert roles["prompt"] == [("3", "text_g"), ("3", "text_l"), ("5", "text")]
    assert roles["negative_prompt"] == [("4", "text"), ("6", "text")]
    assert roles["seed"] == [("10", "noise_seed")]
    assert roles["steps"] == [("10", "steps"), ("11", "steps")]  # the refiner keeps the same total
    assert roles["model"] == [("1", "ckpt_name")]
