"""Can a gpt-mini-sized GPT-2 learn to copy in the quickstart's budget? A PyTorch replica
(4 layers, 4 heads, 128 channels, context 128, bytes + 3 specials, learned positions, AdamW
β 0.9/0.95, decay 0.1 on matrices, warmup 5% then cosine to 10%, clip 1.0) fine-tuned from
scratch on "Repeat: <random letters>" → "<the letters>" (examples packed as mergeflow packs
them, loss on the answer). Run: python copy_probe.py STEPS (needs torch; writes train.jsonl,
20,000 such examples, when it is missing). Observed: the answer loss stays at
3.2–3.3 nats (uniform over 27 letters is 3.30) through 1,500 steps at lr 3e-3: no induction
head forms, so copying tasks stay at the floor at this scale and budget.
"""
import json, math, random, torch, torch.nn as nn, torch.nn.functional as F, sys
torch.manual_seed(0); torch.set_num_threads(1)
V=259; C=128; L=4; H=4; T=128; B=8
BOP,BOA,END=256,257,258
import os
if not os.path.exists('train.jsonl'):
    g=random.Random(1)
    with open('train.jsonl','w') as f:
        for i in range(20000):
            t=''.join(g.choice('abcdefghijklmnopqrstuvwxyz ') for _ in range(g.randint(8,30))).strip() or 'x'
            f.write(json.dumps({"id":f"train{i}","lang":"en","objective":"general","prompt":"Repeat: "+t,"answer":t})+"\n")
ex=[json.loads(l) for l in open('train.jsonl')]
r=random.Random(0)
def enc(e):
    p=[BOP]+list(e['prompt'].encode()); a=[BOA]+list(e['answer'].encode())+[END]
    # mirror mergeflow: prompt tokens = BOP prompt BOA ; answer = bytes END, loss on answer
    return p+[BOA], list(e['answer'].encode())+[END]
def batch():
    X=torch.zeros(B,T,dtype=torch.long); Y=torch.zeros(B,T,dtype=torch.long); W=torch.zeros(B,T)
    for b in range(B):
        row=[];m=[]
        while len(row)<T+1:
            p,a=enc(r.choice(ex)); row+=p+a; m+=[0]*len(p)+[1]*len(a)
        X[b]=torch.tensor(row[:T]); Y[b]=torch.tensor(row[1:T+1]); W[b]=torch.tensor(m[1:T+1],dtype=torch.float)
    return X,Y,W/W.sum()
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.l1=nn.LayerNorm(C); s.qkv=nn.Linear(C,3*C); s.proj=nn.Linear(C,C); s.l2=nn.LayerNorm(C); s.fc=nn.Linear(C,4*C); s.fc2=nn.Linear(4*C,C)
    def forward(s,x):
        q,k,v=s.qkv(s.l1(x)).split(C,2)
        q,k,v=[t.view(B,T,H,C//H).transpose(1,2) for t in (q,k,v)]
        y=F.scaled_dot_product_attention(q,k,v,is_causal=True).transpose(1,2).reshape(B,T,C)
        x=x+s.proj(y); return x+s.fc2(F.gelu(s.fc(s.l2(x)),approximate='tanh'))
class GPT(nn.Module):
    def __init__(s):
        super().__init__(); s.wte=nn.Embedding(V,C); s.wpe=nn.Embedding(T,C); s.h=nn.ModuleList([Block() for _ in range(L)]); s.lf=nn.LayerNorm(C)
        for n,p in s.named_parameters():
            if p.dim()==2: nn.init.normal_(p,0,0.02)
    def forward(s,x):
        h=s.wte(x)+s.wpe(torch.arange(T))
        for b in s.h: h=b(h)
        return s.lf(h)@s.wte.weight.T
m=GPT()
dec=[p for n,p in m.named_parameters() if p.dim()==2 and 'wte' not in n and 'wpe' not in n]
nod=[p for n,p in m.named_parameters() if not (p.dim()==2 and 'wte' not in n and 'wpe' not in n)]
opt=torch.optim.AdamW([{'params':dec,'weight_decay':0.1},{'params':nod,'weight_decay':0}],lr=3e-3,betas=(0.9,0.95))
steps=int(sys.argv[1]) if len(sys.argv)>1 else 400; warm=steps//20
for s in range(1,steps+1):
    lr=3e-3*s/warm if s<=warm else 3e-4+0.5*(3e-3-3e-4)*(1+math.cos(math.pi*(s-warm)/(steps-warm)))
    for g in opt.param_groups: g['lr']=lr
    X,Y,W=batch(); logits=m(X)
    loss=(F.cross_entropy(logits.view(-1,V),Y.view(-1),reduction='none')*W.view(-1)).sum()
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step()
    if s%40==0: print(s,round(loss.item(),3),flush=True)
