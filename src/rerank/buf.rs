//! 64-byte aligned buffers for packed weights and activations (so that 512-bit loads never split cache lines).

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);

/// A growable, zero-initialised, 64-byte aligned buffer viewed as `f32` or `u16`.
#[derive(Default)]
pub struct AlignedBuf {
    lines: Vec<Line>,
}

impl AlignedBuf {
    /// A buffer holding at least `n_f32` f32 values.
    pub fn with_f32(n_f32: usize) -> Self {
        let mut b = Self::default();
        b.ensure_f32(n_f32);
        b
    }
    pub fn with_u16(n: usize) -> Self {
        Self::with_f32(n.div_ceil(2))
    }
    /// Grows (never shrinks) to hold `n_f32` f32 values.
    pub fn ensure_f32(&mut self, n_f32: usize) {
        let lines = n_f32.div_ceil(16);
        if self.lines.len() < lines {
            self.lines.resize(lines, Line([0; 16]));
        }
    }
    pub fn ensure_u16(&mut self, n: usize) {
        self.ensure_f32(n.div_ceil(2));
    }
    pub fn f32(&self) -> &[f32] {
        // SAFETY: Line is 16 plain u32; every bit pattern is a valid f32.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const f32, self.lines.len() * 16) }
    }
    pub fn f32_mut(&mut self) -> &mut [f32] {
        // SAFETY: as above, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut f32, self.lines.len() * 16) }
    }
    pub fn u16(&self) -> &[u16] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const u16, self.lines.len() * 32) }
    }
    pub fn u16_mut(&mut self) -> &mut [u16] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut u16, self.lines.len() * 32) }
    }
    pub fn bytes(&self) -> usize {
        self.lines.len() * 64
    }
}
