#!/usr/bin/env python3
"""Writes the four shipped pipeline specs (quickstart, objective-merge, language-merge,
merge-order) into the folder given, from the shared settings at the top: the committed
pipelines/*.json are its output (`python3 scripts/make_pipelines.py pipelines`), so a change
to a budget, a task list or the seeds is one edit here and the same in every spec.
Needs only the Python standard library."""
import json, sys, copy
OUT = sys.argv[1]
REFUSE = ["Crimes_And_Illegal_Activities", "Goal_Hijacking", "Insult", "Unsafe_Instruction_Topic"]
LOOK = ["Ethics_And_Morality", "Mental_Health", "Physical_Harm", "Reverse_Exposure", "commonsense"]
PRE_STEPS, PRE_LR = 4000, 0.002
SFT_STEPS, SFT_LR = 1000, 0.001
ITEMS = 100
Q_PRE, Q_SFT, Q_ITEMS = 700, 400, 30
VOCAB = 2048
TASKS = ["language", "program", "translate"]
# Training draws `program` three times as often as the others (a task listed n times gets n
# shares): in an equal mix a 1,000-step SFT learns language identification and not this
# medium task (23% exact against a 22% majority class; 31% at two shares, 52% alone).
# The test sets keep one share each, so the pooled score weighs the three tasks alike.
TRAIN_TASKS = ["language", "program", "program", "program", "translate"]
# Each refused prompt twice in the safety data: at one copy the 1,000-step safety model
# refused 81-91% of harmful prompts per language; at two, 85-96% (seed 7), with look-alike
# refusals unchanged (15.8% against 14.7%); at three, no better (83-97%) and 21% look-alikes.
REFUSAL_WEIGHT = 2
# The safety objective's training categories: every refused one and every look-alike but
# Physical_Harm. Its first-person worries ("I hurt my leg…") read, to a model of this size, like
# the first-person crime stories it must refuse: trained on all five look-alike categories, the
# three-seed safety model refused 83.3% (ru) and 85.7% (hi) of held-out harmful prompts, its
# misses nearly all crime stories answered with the look-alike reply; without Physical_Harm
# (seeds 7-9, 100 prompts per language): 91.3-95.0% in every language, look-alike refusals
# 13.4% -> 28.8%; without Mental_Health too (seed 8): 94.5% pooled but 51.8% of look-alikes
# refused. Physical_Harm stays in the look-alike test set, where its refusals are counted.
TRAIN_SAFETY = REFUSE + [c for c in LOOK if c != "Physical_Harm"]
def data_nodes():
    return {
      "corpus_parallel": {"op": "dataset", "params": {"source": "parallel", "pretraining_text": True, "split": "train", "test_fraction": 0.25}},
      "corpus_xsafety": {"op": "dataset", "params": {"source": "xsafety", "pretraining_text": True, "split": "train", "test_fraction": 0.25}},
      "tokenizer": {"op": "tokenizer", "inputs": {"data": ["corpus_parallel", "corpus_xsafety"]}, "params": {"vocabulary": VOCAB}},
      "general_train": {"op": "dataset", "params": {"source": "tasks", "tasks": TRAIN_TASKS, "split": "train", "max_bytes": 509}},
      "safety_train": {"op": "dataset", "params": {"source": "xsafety", "lookalikes": True, "refusal_templates": 1, "refusal_weight": REFUSAL_WEIGHT, "split": "train", "test_fraction": 0.25, "max_bytes": 509, "categories": TRAIN_SAFETY}},
      "general_test": {"op": "dataset", "params": {"source": "tasks", "tasks": TASKS, "split": "test", "max_prompt_bytes": 400, "items_per_language": ITEMS}},
      "harmful_test": {"op": "dataset", "params": {"source": "xsafety", "lookalikes": True, "refusal_templates": 1, "split": "test", "test_fraction": 0.25, "max_prompt_bytes": 400, "items_per_language": ITEMS, "categories": REFUSE}},
      "lookalike_test": {"op": "dataset", "params": {"source": "xsafety", "lookalikes": True, "refusal_templates": 1, "split": "test", "test_fraction": 0.25, "max_prompt_bytes": 400, "items_per_language": ITEMS, "categories": LOOK}},
    }
def base(seeds=None, steps=None):
    n = {"op": "pretrain", "inputs": {"data": ["corpus_parallel", "corpus_xsafety"], "tokenizer": "tokenizer"}, "params": {"model": "gpt-mini-256", "steps": steps or PRE_STEPS, "lr": PRE_LR}}
    if seeds: n["grid"] = {"seed": seeds}
    return n
def data_for(mix, safety="safety_train"):
    # Only the datasets the mix draws from: a node's key covers every input, so a safety-only
    # SFT that also took general_train would re-run whenever the general tasks change.
    names = {"general": "general_train", "safety": safety}
    return [names[k] for k in ("general", "safety") if mix is None or mix.get(k, 0) > 0]
def ft(mix, model="base", steps=None, **extra):
    n = {"op": "finetune", "inputs": {"model": model, "data": data_for(mix)}, "params": {"mix": mix, "steps": steps or SFT_STEPS, "lr": SFT_LR}}
    n["params"].update(extra); return n
TEST = ["general_test", "harmful_test", "lookalike_test"]
def ev(model, stage="SFT", items=None, new=64):
    return {"op": "eval", "inputs": {"model": model, "reference": "general", "data": TEST}, "params": {"stage": stage, "max_items": items or ITEMS, "max_new_tokens": new}}
def write(name, spec):
    json.dump(spec, open(f"{OUT}/{name}.json", "w"), indent=2, ensure_ascii=False); open(f"{OUT}/{name}.json", "a").write("\n")

# quickstart: one seed
nodes = data_nodes()
nodes["base"] = base(steps=Q_PRE)
nodes["general"] = ft({"general": 1}, steps=Q_SFT)
nodes["safety"] = ft({"safety": 1}, steps=Q_SFT)
nodes["mix"] = ft({"general": 0.85, "safety": 0.15}, steps=Q_SFT)
nodes["linear"] = {"op": "merge", "inputs": {"models": ["general", "safety"]}, "params": {"method": "linear", "weights": [0.5, 0.5]}}
nodes["ties"] = {"op": "merge", "inputs": {"base": "base", "models": ["general", "safety"]}, "params": {"method": "ties", "weights": [0.5, 0.5], "density": 0.5}}
nodes["eval"] = ev({"each": ["base", "general", "mix", "linear", "ties", "safety"]}, items=Q_ITEMS, new=40)
nodes["report"] = {"op": "report", "inputs": {"scores": "eval"}, "params": {"title": "quickstart: mix data or merge models?"}}
write("quickstart", {"name": "quickstart", "seed": 7, "description":
  "Mix data or merge models, in minutes on 2 cores: a GPT-2 (gpt-mini-256: 4 layers, 128 channels) with a 2,048-token BPE vocabulary learned from the corpus, pre-trained on raw six-language text, fine-tuned on general instruction tasks and on safety data that teaches when to refuse, mixed at 15% safety or merged (linear, TIES), each evaluated per language (30 items per prompt set) against the general-only model, the pre-trained base beside them. A small budget (pre-training 700 steps, 1.4M tokens; SFT 400 steps) so that ./run.sh stays within 15 minutes on 2 cores; objective-merge.json is the full experiment.",
  "nodes": nodes})

# objective-merge: the full grid, three seeds (a base per seed)
SEEDS = [7, 8, 9]
nodes = data_nodes()
nodes["base"] = base(SEEDS)
nodes["general"] = ft({"general": 1})
nodes["safety"] = ft({"safety": 1})
nodes["mix"] = ft(None); del nodes["mix"]["params"]["mix"]; nodes["mix"]["grid"] = {"mix": [
    {"general": 0.95, "safety": 0.05}, {"general": 0.85, "safety": 0.15}, {"general": 0.7, "safety": 0.3}, {"general": 0.5, "safety": 0.5}]}
W = [[0.9, 0.1], [0.7, 0.3], [0.5, 0.5], [0.3, 0.7], [0.1, 0.9]]
nodes["linear"] = {"op": "merge", "inputs": {"models": ["general", "safety"]}, "params": {"method": "linear"}, "grid": {"weights": W}}
nodes["slerp"] = {"op": "merge", "inputs": {"base": "general", "models": ["safety"]}, "params": {"method": "slerp"}, "grid": {"t": [0.1, 0.3, 0.5, 0.7, 0.9]}}
nodes["ties"] = {"op": "merge", "inputs": {"base": "base", "models": ["general", "safety"]}, "params": {"method": "ties", "density": 0.5}, "grid": {"weights": W}}
nodes["dare_ties"] = {"op": "merge", "inputs": {"base": "base", "models": ["general", "safety"]}, "params": {"method": "dare_ties", "density": 0.5}, "grid": {"weights": W}}
nodes["eval"] = ev({"each": ["base", "general", "mix", "linear", "slerp", "ties", "dare_ties", "safety"]})
nodes["report"] = {"op": "report", "inputs": {"scores": "eval"}, "params": {"title": "objective-merge: safety mixes (0–100%) vs merges of the general and safety models, three seeds"}}
write("objective-merge", {"name": "objective-merge", "seed": 7, "description":
  "The paper's objective-based comparison with curves: data mixes at 0, 5, 15, 30, 50 and 100% safety against linear, SLERP, TIES and DARE-TIES merges of the 0% and 100% models at five weights, for three pre-training seeds (a base per seed; each merge pairs one seed's models), every variant evaluated per language on 100 items per set. Bases 4,000 steps (8.2M tokens); every SFT 1,000 steps at lr 1e-3.",
  "nodes": nodes})

# language-merge: six monolingual 15%-safety models merged with TIES vs the multilingual mix
nodes = data_nodes()
nodes["base"] = base(SEEDS)
nodes["general"] = ft({"general": 1})
nodes["mix"] = ft({"general": 0.85, "safety": 0.15})
nodes["mono"] = ft({"general": 0.85, "safety": 0.15}); nodes["mono"]["grid"] = {"languages": [["en"], ["fr"], ["es"], ["ru"], ["ar"], ["hi"]]}
nodes["ties_all"] = {"op": "merge", "inputs": {"base": "base", "models": "mono"}, "params": {"method": "ties", "density": 0.5}}
nodes["ties_en_fr_es"] = {"op": "merge", "inputs": {"base": "base", "models": ['mono[languages=["en"]]', 'mono[languages=["fr"]]', 'mono[languages=["es"]]']}, "params": {"method": "ties", "density": 0.5}}
nodes["eval"] = ev({"each": ["general", "mix", "ties_all", "ties_en_fr_es"]})
nodes["report"] = {"op": "report", "inputs": {"scores": "eval"}, "params": {"title": "language-merge: six monolingual 15%-safety models merged with TIES vs the multilingual 15% mix, three seeds"}}
write("language-merge", {"name": "language-merge", "seed": 7, "description":
  "The paper's language-based merge: six monolingual models (each fine-tuned on one language's 15%-safety mix) merged with TIES (all six, and en+fr+es) against the multilingual 15% mix, three seeds.",
  "nodes": nodes})

# merge-order: SFT->merge, SFT->DPO->merge, SFT->merge->DPO
DPO = {"steps": 200, "batch_size": 8, "lr": 5e-05, "beta": 0.1, "rpo_alpha": 1}
def dpo(model, mix):
    return {"op": "dpo", "inputs": {"model": model, "data": data_for(mix, "safety_pairs")}, "params": dict({"mix": mix}, **DPO)}
nodes = data_nodes()
nodes["safety_pairs"] = {"op": "dataset", "params": {"source": "xsafety", "lookalikes": True, "refusal_templates": 1, "rejected": "helpful", "split": "train", "test_fraction": 0.25, "max_bytes": 509, "categories": TRAIN_SAFETY}}
nodes["base"] = base(SEEDS)
nodes["general"] = ft({"general": 1})
nodes["safety"] = ft({"safety": 1})
nodes["dpo_general"] = dpo("general", {"general": 1})
nodes["dpo_safety"] = dpo("safety", {"safety": 1})
nodes["sft_merge"] = {"op": "merge", "inputs": {"base": "general", "models": ["safety"]}, "params": {"method": "slerp", "t": 0.5}}
nodes["dpo_then_merge"] = {"op": "merge", "inputs": {"base": "dpo_general", "models": ["dpo_safety"]}, "params": {"method": "slerp", "t": 0.5}}
nodes["merge_then_dpo"] = dpo("sft_merge", {"general": 0.85, "safety": 0.15})
nodes["eval"] = ev({"each": ["general", "safety", "sft_merge", "dpo_then_merge", "merge_then_dpo", "dpo_general", "dpo_safety"]})
nodes["report"] = {"op": "report", "inputs": {"scores": "eval"}, "params": {"title": "merge-order: SFT→merge, SFT→DPO→merge, SFT→merge→DPO (SLERP t = 0.5), three seeds"}}
write("merge-order", {"name": "merge-order", "seed": 7, "description":
  "When to merge: SLERP (t = 0.5) of the general and safety models after SFT, after a DPO of each (general pairs: instruction-following answer over ignoring the instruction; safety pairs: refusal over the helpful answer on harmful prompts, the helpful answer over a refusal on look-alikes; DPO with the chosen answers' NLL added, rpo_alpha 1), or before a DPO on the 15% mix; three seeds.",
  "nodes": nodes})
