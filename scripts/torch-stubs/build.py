import json, subprocess, collections, os
d=json.load(open('syms.json'))
missing=open('missing.txt').read().split()
py=set()
out=subprocess.run(['nm','-D','--defined-only','/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0'],capture_output=True,text=True).stdout if os.path.exists('/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0') else subprocess.run(['nm','--defined-only','/root/.pyenv/versions/3.11.7/bin/python3.11'],capture_output=True,text=True).stdout
for l in out.splitlines():
    p=l.split()
    if len(p)>=3: py.add(p[2].split('@')[0])
unver=[s for s in d['unver'] if s not in py and not s.startswith(('Py','_Py'))]
print('unversioned non-python', len(unver), unver[:20])
bylib=collections.defaultdict(dict)
for k,syms in d['need'].items():
    lib,ver=k.split('|'); bylib[lib][ver]=syms
os.makedirs('lib',exist_ok=True)
for lib in missing:
    vers=bylib.get(lib,{})
    allsyms=set(unver)
    for v in vers.values(): allsyms|=set(v)
    c='\n'.join(f'int {s}(void){{return 999;}}' for s in sorted(allsyms))
    open(f'{lib}.c','w').write(c+'\n')
    vs=''
    for v,syms in vers.items():
        vs+=f'{v} {{ global: {"; ".join(syms)}; }};\n'
    if not vers:
        vs='STUB { global: *; };\n'
    open(f'{lib}.map','w').write(vs)
    r=subprocess.run(['gcc','-shared','-fPIC','-o',f'lib/{lib}',f'{lib}.c',f'-Wl,--version-script={lib}.map',f'-Wl,-soname,{lib}','-w'],capture_output=True,text=True)
    if r.returncode: print(lib, r.stderr[:500])
print(os.listdir('lib'))
