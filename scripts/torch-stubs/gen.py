import subprocess, re, os, collections
L='/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/torch/lib/'
libs=[f for f in os.listdir(L) if f.endswith('.so')]
missing=set()
for f in libs:
    out=subprocess.run(['ldd',L+f],capture_output=True,text=True).stdout
    for m in re.finditer(r'(\S+) => not found',out): missing.add(m.group(1))
# defined symbols in available libs
defined=set()
avail=[L+f for f in libs]+['/lib/x86_64-linux-gnu/libc.so.6','/lib/x86_64-linux-gnu/libm.so.6','/lib/x86_64-linux-gnu/libstdc++.so.6','/lib/x86_64-linux-gnu/libgcc_s.so.1']
for a in avail:
    if not os.path.exists(a): continue
    out=subprocess.run(['nm','-D','--defined-only',a],capture_output=True,text=True).stdout
    for line in out.splitlines():
        p=line.split()
        if len(p)>=3: defined.add(p[2].split('@')[0])
# undefined symbols per lib with versions
need=collections.defaultdict(set)  # soname -> symbols (versioned mapping)
unver=set()
vermap={}
for f in libs:
    ver=subprocess.run(['readelf','-V','-W',L+f],capture_output=True,text=True).stdout
    cur=None
    for line in ver.splitlines():
        m=re.search(r'File: (\S+)',line)
        if m: cur=m.group(1); continue
        m=re.search(r'Name: (\S+)',line)
        if m and cur: vermap[m.group(1)]=cur
    out=subprocess.run(['nm','-D','--undefined-only',L+f],capture_output=True,text=True).stdout
    for line in out.splitlines():
        p=line.split()
        s=p[-1]
        name,_,v=s.partition('@')
        v=v.lstrip('@')
        if name in defined: continue
        if v and vermap.get(v) in missing:
            need[(vermap[v],v)].add(name)
        elif not v:
            unver.add(name)
print(len(missing), {k:len(v) for k,v in need.items()}, len(unver))
open('missing.txt','w').write('\n'.join(sorted(missing)))
import json
json.dump({'need':{f'{k[0]}|{k[1]}':sorted(v) for k,v in need.items()},'unver':sorted(unver)},open('syms.json','w'))
