"""Supervised fine-tuning of a mergeflow checkpoint with Hugging Face transformers' Trainer.

Run by the `sft` command node of external-trainer.json (not by CI: it needs torch and
transformers, e.g. the reference venv: PATH=/tmp/ref/bin:$PATH mergeflow run ...).

    python3 hf_sft.py --model DIR --data FILE.jsonl --out DIR --log FILE.jsonl
                      --lr 0.001 --steps 200 --batch-size 8 --save-every 20 --seed 7 --work DIR

- --model: a checkpoint folder as mergeflow materialises it (config.json + model.safetensors,
  GPT2LMHeadModel over bytes: 256 byte tokens, <bop> 256, <boa> 257, <end> 258).
- --data: mergeflow's dataset JSON Lines ({"lang", "objective", "prompt", "answer", ...}).
  Each example is <bop> prompt <boa> answer <end>, loss on the answer and <end> only (as
  mergeflow's finetune op), truncated to the model's context.
- --work: mergeflow's {workdir}. The Trainer's output_dir: it saves a checkpoint every
  --save-every steps there, and a rerun after a kill resumes from the newest one
  (resume_from_checkpoint), which mergeflow keeps until the result is published.
- --out: the fine-tuned checkpoint folder; --log: metric rows (mergeflow's row schema).
"""
import argparse
import json
import os
import sys
import time

import torch
from transformers import GPT2LMHeadModel, Trainer, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

BOP, BOA, END = 256, 257, 258


def encode(example, context):
    prompt = list(example["prompt"].encode("utf-8"))
    answer = list(example["answer"].encode("utf-8"))
    ids = [BOP] + prompt + [BOA] + answer + [END]
    labels = [-100] * (len(prompt) + 2) + answer + [END]
    return {"input_ids": ids[:context], "labels": labels[:context]}


def collate(batch):
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), END, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def main():
    p = argparse.ArgumentParser()
    for name in ["--model", "--data", "--out", "--log", "--work"]:
        p.add_argument(name, required=True)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--save-every", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    model = GPT2LMHeadModel.from_pretrained(a.model)
    context = model.config.n_positions
    examples = [json.loads(line) for line in open(a.data, encoding="utf-8") if line.strip()]
    train = [encode(e, context) for e in examples]
    train = [t for t in train if any(label != -100 for label in t["labels"])]
    print("%d examples, context %d, %d parameters" % (len(train), context, model.num_parameters()), file=sys.stderr)

    args = TrainingArguments(
        output_dir=a.work, max_steps=a.steps, per_device_train_batch_size=a.batch_size,
        learning_rate=a.lr, lr_scheduler_type="cosine", warmup_steps=max(1, a.steps // 20), weight_decay=0.1,
        max_grad_norm=1.0, save_strategy="steps", save_steps=a.save_every, save_total_limit=2,
        logging_steps=max(1, a.save_every // 2), report_to=[], seed=a.seed, data_seed=a.seed,
        use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collate)
    last = get_last_checkpoint(a.work) if os.path.isdir(a.work) else None
    if last:
        print("resuming from %s" % last, file=sys.stderr)
    start = time.time()
    result = trainer.train(resume_from_checkpoint=last)
    took = time.time() - start
    trainer.model.save_pretrained(a.out, safe_serialization=True)

    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    rows = [
        {"lang": "all", "objective": "general", "metric": "train_loss", "value": result.training_loss, "n": a.steps},
        {"lang": "all", "objective": "general", "metric": "final_logged_loss", "value": losses[-1] if losses else result.training_loss, "n": a.steps},
        {"lang": "all", "objective": "general", "metric": "resumed_from_step",
         "value": int(last.rsplit("-", 1)[1]) if last else 0, "n": a.steps},
    ]
    with open(a.log, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print("trained %d steps in %.1f s (resumed from %s), loss %.4f" % (a.steps, took, last or "nothing", result.training_loss))


if __name__ == "__main__":
    main()
