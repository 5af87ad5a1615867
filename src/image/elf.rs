//! Just enough of ELF64 (little-endian) to build an image without host tools: a program's
//! interpreter (`PT_INTERP`: absent for a static binary), and a section's bytes by name
//! (a kernel module's `.modinfo`).

use anyhow::{bail, Context as _};

/// A parsed view of an ELF64 little-endian file held in memory.
pub struct Elf<'a> {
    bytes: &'a [u8],
}

const PT_INTERP: u32 = 3;

impl<'a> Elf<'a> {
    /// Checks the identification bytes: ELF magic, 64-bit, little-endian.
    pub fn parse(bytes: &'a [u8]) -> anyhow::Result<Self> {
        if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
            bail!("not an ELF file");
        }
        if bytes[4] != 2 || bytes[5] != 1 {
            bail!("not a 64-bit little-endian ELF file");
        }
        Ok(Elf { bytes })
    }

    fn u16_at(&self, at: usize) -> anyhow::Result<u16> {
        let b = self.bytes.get(at..at + 2).context("truncated ELF file")?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32_at(&self, at: usize) -> anyhow::Result<u32> {
        let b = self.bytes.get(at..at + 4).context("truncated ELF file")?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn u64_at(&self, at: usize) -> anyhow::Result<usize> {
        let b = self.bytes.get(at..at + 8).context("truncated ELF file")?;
        usize::try_from(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .context("ELF offset out of range")
    }

    fn slice(&self, offset: usize, size: usize) -> anyhow::Result<&'a [u8]> {
        offset
            .checked_add(size)
            .and_then(|end| self.bytes.get(offset..end))
            .context("ELF section or segment outside the file")
    }

    /// The program interpreter (the dynamic loader), or `None` for a static binary.
    pub fn interpreter(&self) -> anyhow::Result<Option<String>> {
        let phoff = self.u64_at(0x20)?;
        let phentsize = usize::from(self.u16_at(0x36)?);
        let phnum = usize::from(self.u16_at(0x38)?);
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            if self.u32_at(ph)? == PT_INTERP {
                let data = self.slice(self.u64_at(ph + 8)?, self.u64_at(ph + 32)?)?;
                let path = data.split(|&b| b == 0).next().unwrap_or_default();
                return Ok(Some(String::from_utf8(path.to_vec())?));
            }
        }
        Ok(None)
    }

    /// The bytes of the section called `name`, if there is one.
    pub fn section(&self, name: &str) -> anyhow::Result<Option<&'a [u8]>> {
        let shoff = self.u64_at(0x28)?;
        let shentsize = usize::from(self.u16_at(0x3A)?);
        let shnum = usize::from(self.u16_at(0x3C)?);
        let shstrndx = usize::from(self.u16_at(0x3E)?);
        if shnum == 0 {
            return Ok(None);
        }
        let sh = |i: usize| shoff + i * shentsize;
        let names = self.slice(
            self.u64_at(sh(shstrndx) + 24)?,
            self.u64_at(sh(shstrndx) + 32)?,
        )?;
        for i in 0..shnum {
            let at = self.u32_at(sh(i))? as usize;
            let this = names
                .get(at..)
                .and_then(|s| s.split(|&b| b == 0).next())
                .context("bad ELF section name")?;
            if this == name.as_bytes() {
                return Ok(Some(
                    self.slice(self.u64_at(sh(i) + 24)?, self.u64_at(sh(i) + 32)?)?,
                ));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_elf64_le() {
        assert!(Elf::parse(b"#!/bin/sh\n").is_err());
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1; // 32-bit
        b[5] = 1;
        assert!(Elf::parse(&b).is_err());
    }

    /// The test binary itself is a dynamic ELF64 with a `.text` section.
    #[test]
    fn reads_this_test_binary() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let elf = Elf::parse(&exe).unwrap();
        assert!(elf.section(".text").unwrap().is_some());
        assert!(elf.section(".no-such-section").unwrap().is_none());
        if let Some(interp) = elf.interpreter().unwrap() {
            assert!(interp.starts_with('/'), "{interp}");
        }
    }
}
