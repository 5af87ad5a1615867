//! The report's timeline: every client op as a bar from its invocation to its completion,
//! one lane per worker, with the fault bands behind — for any number of ops.
//!
//! The page cannot hold a million SVG elements, so the ops travel as data and a small
//! inline script draws them on a canvas, only those in view: the ops are written in
//! completion order (as [`super::scan`] yields them, never all in memory) as base64 of
//! LEB128 varints, seven per op:
//!
//! | field | meaning |
//! |---|---|
//! | zigzag(end − previous end) | completion, µs since the run's start |
//! | end − start | duration, µs |
//! | lane | the worker: process mod concurrency |
//! | f × 4 + outcome | function number (see `meta.fs`), outcome 0 ok, 1 fail, 2 info |
//! | zigzag(completion index − previous) | the completion's history index |
//! | completion index − invocation index | |
//! | process div concurrency | the process is this × concurrency + lane |
//!
//! About 7 bytes an op (9–10 in base64). The script decodes them into typed arrays, finds
//! the first op in view by binary search on completion time, and draws at most one bar per
//! lane, outcome and pixel column: zoomed out over a million ops it draws a few thousand.
//! Wheel zooms, drag pans, a click on a bar shows the op.

use super::scan::Op;
use base64::engine::general_purpose::STANDARD;
use base64::write::EncoderWriter;
use std::io::{self, Write};

/// Function numbers above this share one code in the timeline (`meta.fs` names the rest
/// "other").
pub const MAX_FS: usize = 63;

/// Streams ops into a page as base64 varints.
pub struct Encoder<W: Write> {
    out: EncoderWriter<'static, base64::engine::GeneralPurpose, W>,
    concurrency: u64,
    prev_end: i64,
    prev_index: i64,
    buf: Vec<u8>,
    /// Ops written.
    pub ops: u64,
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

impl<W: Write> Encoder<W> {
    /// An encoder writing to `out`, whose lanes are `concurrency` workers (at least 1).
    pub fn new(out: W, concurrency: u64) -> Self {
        Encoder {
            out: EncoderWriter::new(out, &STANDARD),
            concurrency: concurrency.max(1),
            prev_end: 0,
            prev_index: 0,
            buf: Vec::with_capacity(64),
            ops: 0,
        }
    }

    /// Writes one op; `f` is its function number.
    pub fn op(&mut self, op: &Op<'_>, f: usize) -> io::Result<()> {
        let (start, end) = ((op.start / 1000) as i64, (op.end / 1000) as i64);
        let lane = op.process % self.concurrency;
        let b = &mut self.buf;
        b.clear();
        varint(b, zigzag(end - self.prev_end));
        varint(b, (end - start).max(0) as u64);
        varint(b, lane);
        b.push((f.min(MAX_FS) as u8) << 2 | op.outcome as u8);
        varint(b, zigzag(op.complete_index as i64 - self.prev_index));
        varint(b, op.complete_index.saturating_sub(op.invoke_index));
        varint(b, op.process / self.concurrency);
        self.prev_end = end;
        self.prev_index = op.complete_index as i64;
        self.ops += 1;
        self.out.write_all(&self.buf)
    }

    /// Flushes the last base64 group and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.finish()
    }
}

/// One decoded op (see [`decode`]).
#[cfg(test)]
pub type Decoded = (i64, i64, u64, u8, u8, u64, u64, u64);

/// Decodes what [`Encoder`] wrote, for the tests: (end µs, start µs, lane, f, outcome,
/// invoke index, complete index, process) per op.
#[cfg(test)]
pub fn decode(b64: &str, concurrency: u64) -> Vec<Decoded> {
    use base64::Engine as _;
    let bytes = STANDARD.decode(b64.trim()).unwrap();
    let mut pos = 0;
    let v = |pos: &mut usize| {
        let (mut r, mut shift) = (0u64, 0);
        loop {
            let b = bytes[*pos];
            *pos += 1;
            r |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return r;
            }
        }
    };
    let unzig = |u: u64| ((u >> 1) as i64) ^ -((u & 1) as i64);
    let (mut end, mut ci) = (0i64, 0i64);
    let mut out = Vec::new();
    while pos < bytes.len() {
        end += unzig(v(&mut pos));
        let d = v(&mut pos) as i64;
        let lane = v(&mut pos);
        let fl = bytes[pos];
        pos += 1;
        ci += unzig(v(&mut pos));
        let back = v(&mut pos);
        let gen = v(&mut pos);
        out.push((
            end,
            end - d,
            lane,
            fl >> 2,
            fl & 3,
            ci as u64 - back,
            ci as u64,
            gen * concurrency + lane,
        ));
    }
    out
}

/// The timeline's markup and script; the page puts `meta` (JSON) and the data (base64) in
/// `<script type="application/json" id="tl-meta">` and `<script type="text/plain"
/// id="tl-data">` elements before it.
pub const SCRIPT: &str = r#"<script>
(function(){
const meta=JSON.parse(document.getElementById('tl-meta').textContent);
const raw=atob(document.getElementById('tl-data').textContent.replace(/\s+/g,''));
const n=meta.ops, conc=Math.max(1,meta.concurrency);
const S=new Float64Array(n),E=new Float64Array(n),L=new Uint16Array(n),F=new Uint8Array(n),
  I=new Float64Array(n),C=new Float64Array(n),P=new Float64Array(n);
let pos=0;
function v(){let r=0,m=1,b;do{b=raw.charCodeAt(pos++);r+=(b&127)*m;m*=128;}while(b&128);return r;}
function z(){const u=v();return u%2?-(u+1)/2:u/2;}
let e=0,ci=0,maxDur=0,sorted=true,lanes=1,tEnd=0;
for(let i=0;i<n;i++){const pe=e;e+=z();const d=v();const l=v();const fl=raw.charCodeAt(pos++);
  ci+=z();const back=v();const g=v();
  E[i]=e;S[i]=e-d;L[i]=l;F[i]=fl;C[i]=ci;I[i]=ci-back;P[i]=g*conc+l;
  if(d>maxDur)maxDur=d;if(e<pe)sorted=false;if(l+1>lanes)lanes=l+1;if(e>tEnd)tEnd=e;}
for(const f of meta.faults){if(f[1]>tEnd)tEnd=f[1];}
let ord=new Uint32Array(n);for(let i=0;i<n;i++)ord[i]=i;
if(!sorted){ord=Array.from(ord).sort((a,b)=>E[a]-E[b]);}
const LANE=14,TOP=22,GUT=46,cv=document.getElementById('tl-canvas'),ctx=cv.getContext('2d');
const tip=document.getElementById('tl-tip'),info=document.getElementById('tl-view');
const COL=['#2e7d32','#c62828','#ef8f00'],TYPES=['ok','fail','info'];
const BAND={partition:'#ef9a9a',pause:'#90caf9',kill:'#ce93d8',packet:'#ffcc80'};
let t0=0,t1=Math.max(tEnd,1),W=0,H=0;
function X(t){return GUT+(t-t0)/(t1-t0)*(W-GUT);}
function T(x){return t0+(x-GUT)/(W-GUT)*(t1-t0);}
function fmt(us){return us>=1e6?+(us/1e6).toFixed(3)+'s':us>=1e3?+(us/1e3).toFixed(2)+'ms':(us?us+'µs':'0');}
function first(t){let lo=0,hi=n;while(lo<hi){const m=(lo+hi)>>1;if(E[ord[m]]<t)lo=m+1;else hi=m;}return lo;}
function resize(){const dpr=window.devicePixelRatio||1;W=cv.parentElement.clientWidth;H=TOP+lanes*LANE+4;
  cv.width=W*dpr;cv.height=H*dpr;cv.style.width=W+'px';cv.style.height=H+'px';ctx.setTransform(dpr,0,0,dpr,0,0);draw();}
function draw(){
  ctx.clearRect(0,0,W,H);ctx.font='10px sans-serif';
  for(const f of meta.faults){const a=Math.max(X(f[0]),GUT),b=Math.min(X(f[1]),W);if(b<GUT||a>W)continue;
    ctx.fillStyle=BAND[f[2]]||'#c5e1a5';ctx.globalAlpha=0.35;ctx.fillRect(a,TOP-8,Math.max(b-a,1),H-TOP+8);
    ctx.globalAlpha=1;if(b-a>6*f[2].length+4){ctx.fillStyle='#555';ctx.fillText(f[2],a+2,TOP-10+10);}}
  ctx.fillStyle='#333';ctx.strokeStyle='#ddd';
  const span=t1-t0,raw10=Math.pow(10,Math.floor(Math.log10(span/8)));let step=raw10;
  for(const m of [1,2,5,10]){if(span/(raw10*m)<=10){step=raw10*m;break;}}
  for(let t=Math.ceil(t0/step)*step;t<=t1;t+=step){const x=X(t);ctx.beginPath();ctx.moveTo(x,TOP-4);ctx.lineTo(x,H);ctx.stroke();ctx.fillText(fmt(Math.round(t)),x+2,10);}
  for(let l=0;l<lanes;l++){ctx.fillStyle='#333';ctx.fillText('w'+l,4,TOP+l*LANE+10);}
  const last=new Float64Array(lanes*3).fill(-1);let drawn=0;
  for(let k=first(t0);k<n;k++){const i=ord[k];if(E[i]>t1+maxDur)break;if(S[i]>t1)continue;
    let x0=Math.floor(Math.max(X(S[i]),GUT)),x1=Math.max(Math.ceil(X(E[i])),x0+1);const o=F[i]&3,key=L[i]*3+o;
    if(x1<=last[key])continue;if(x0<last[key])x0=last[key];last[key]=x1;
    const y=TOP+L[i]*LANE+1;ctx.fillStyle=COL[o];ctx.fillRect(x0,y,x1-x0,LANE-3);drawn++;
    if(x1-x0>36){ctx.fillStyle='#fff';ctx.fillText(meta.fs[F[i]>>2]||'other',x0+2,y+9);}}
  info.textContent=fmt(Math.round(t0))+' – '+fmt(Math.round(t1))+' · '+n+' ops, '+drawn+' bars drawn';
}
function zoom(f,at){const t=T(at),a=t-(t-t0)*f,b=t+(t1-t)*f;t0=Math.max(-1e6,a);t1=Math.max(t0+10,b);draw();}
cv.addEventListener('wheel',ev=>{ev.preventDefault();zoom(ev.deltaY>0?1.25:0.8,ev.offsetX);},{passive:false});
let drag=null;
cv.addEventListener('mousedown',ev=>{drag={x:ev.offsetX,a:t0,b:t1,moved:false};});
window.addEventListener('mouseup',ev=>{if(drag&&!drag.moved)pick(ev);drag=null;});
cv.addEventListener('mousemove',ev=>{if(!drag)return;const dx=ev.offsetX-drag.x;if(Math.abs(dx)>2)drag.moved=true;
  const dt=dx/(W-GUT)*(drag.b-drag.a);t0=drag.a-dt;t1=drag.b-dt;draw();});
function pick(ev){const r=cv.getBoundingClientRect();const x=ev.clientX-r.left,y=ev.clientY-r.top;
  const lane=Math.floor((y-TOP)/LANE);if(lane<0||lane>=lanes||x<GUT){tip.style.display='none';return;}
  const t=T(x),tol=(t1-t0)/(W-GUT)*2;let best=-1;
  for(let k=first(t-tol);k<n;k++){const i=ord[k];if(E[i]>t+tol+maxDur)break;
    if(L[i]==lane&&S[i]<=t+tol&&E[i]>=t-tol){best=i;break;}}
  if(best<0){tip.style.display='none';return;}
  const i=best;tip.style.display='block';tip.style.left=(x+12)+'px';tip.style.top=(y+8)+'px';
  tip.textContent=(meta.fs[F[i]>>2]||'other')+' '+TYPES[F[i]&3]+' · process '+P[i]+' · '+fmt(S[i])+' → '+fmt(E[i])+
    ' ('+fmt(E[i]-S[i])+') · history index '+I[i]+' → '+C[i];}
for(const [id,f] of [['tl-in',0.5],['tl-out',2]])document.getElementById(id).onclick=()=>zoom(f,(GUT+W)/2);
document.getElementById('tl-all').onclick=()=>{t0=0;t1=Math.max(tEnd,1);draw();};
window.addEventListener('resize',resize);resize();
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::grid::Outcome;

    #[test]
    fn ops_round_trip_through_the_encoding() {
        let fs = ["read", "write"];
        let ops = [
            (3u64, 0, Outcome::Ok, 1_000u64, 5_500u64, 0u64, 2u64),
            (1, 1, Outcome::Info, 2_000, 1_002_000, 1, 9),
            (8, 0, Outcome::Fail, 4_000, 900_000, 7, 8), // completes "before" the last: negative delta
        ];
        let mut enc = Encoder::new(Vec::new(), 5);
        for &(p, f, outcome, start, end, ii, ci) in &ops {
            let op = Op {
                process: p,
                f: fs[f],
                outcome,
                start,
                end,
                invoke_index: ii,
                complete_index: ci,
            };
            enc.op(&op, f).unwrap();
        }
        assert_eq!(enc.ops, 3);
        let out = String::from_utf8(enc.finish().unwrap()).unwrap();
        let got = decode(&out, 5);
        assert_eq!(
            got,
            vec![
                (5, 1, 3, 0, 0, 0, 2, 3),
                (1002, 2, 1, 1, 2, 1, 9, 1),
                (900, 4, 3, 0, 1, 7, 8, 8),
            ]
        );
        // Small numbers take a byte each (7 for the first op), durations of a millisecond
        // two: 25 bytes, 36 in base64.
        assert_eq!(out.len(), 36);
    }
}
