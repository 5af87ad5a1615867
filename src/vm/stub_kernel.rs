//! A stub guest "kernel" for exercising a VMM's lifecycle where no real guest kernel is at
//! hand (`squall doctor`, the tests): a 272-byte ELF64 that VMMs load through the PVH boot
//! protocol (a `XEN_ELFNOTE_PHYS32_ENTRY` note), whose code at 1 MiB is `cli; hlt; jmp
//! hlt`. The VM it makes boots, runs (its vCPU halted), pauses, resumes, reboots and shuts
//! down like any other, and never prints a byte.

use std::io;
use std::path::Path;

/// Where the code is loaded and entered: 1 MiB, the lowest address VMMs accept for a
/// kernel (below is the legacy BIOS area).
const ENTRY: u64 = 0x10_0000;
/// The code: `cli; hlt; jmp -3` (back to the `hlt`).
const CODE: [u8; 4] = [0xfa, 0xf4, 0xeb, 0xfd];
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// Where the note and the code sit in the file.
const NOTE_OFFSET: usize = EHDR_SIZE + 2 * PHDR_SIZE;
const NOTE_SIZE: usize = 12 + 4 + 4;
const CODE_OFFSET: usize = 256;
const _: () = assert!(
    NOTE_OFFSET + NOTE_SIZE <= CODE_OFFSET,
    "the note overlaps the code"
);

/// The stub kernel's bytes.
pub fn bytes() -> Vec<u8> {
    let mut f = Vec::with_capacity(CODE_OFFSET + CODE.len() + 12);
    // ELF header: 64-bit, little-endian, executable, x86-64.
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type: EXEC
    f.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&ENTRY.to_le_bytes()); // e_entry
    f.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes()); // e_ehsize
    f.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes()); // e_phentsize
    f.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
                                  // PT_LOAD: the code, read + execute, at ENTRY.
    phdr(&mut f, 1, 5, CODE_OFFSET, ENTRY, CODE.len(), 16);
    // PT_NOTE: the PVH entry point.
    phdr(&mut f, 4, 4, NOTE_OFFSET, 0, NOTE_SIZE, 4);
    // The note: namesz, descsz, type XEN_ELFNOTE_PHYS32_ENTRY (18), "Xen\0", the entry.
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&18u32.to_le_bytes());
    f.extend_from_slice(b"Xen\0");
    f.extend_from_slice(&(ENTRY as u32).to_le_bytes());
    f.resize(CODE_OFFSET, 0);
    f.extend_from_slice(&CODE);
    f.resize(CODE_OFFSET + 16, 0);
    f
}

fn phdr(f: &mut Vec<u8>, kind: u32, flags: u32, offset: usize, addr: u64, size: usize, align: u64) {
    f.extend_from_slice(&kind.to_le_bytes());
    f.extend_from_slice(&flags.to_le_bytes());
    f.extend_from_slice(&(offset as u64).to_le_bytes());
    f.extend_from_slice(&addr.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&addr.to_le_bytes()); // p_paddr
    f.extend_from_slice(&(size as u64).to_le_bytes()); // p_filesz
    f.extend_from_slice(&(size as u64).to_le_bytes()); // p_memsz
    f.extend_from_slice(&align.to_le_bytes());
}

/// Writes the stub kernel to `path`.
pub fn write(path: &Path) -> io::Result<()> {
    std::fs::write(path, bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let b = bytes();
        assert_eq!(b.len(), 272);
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!(NOTE_OFFSET + NOTE_SIZE, 196);
        assert_eq!(&b[NOTE_OFFSET + 12..NOTE_OFFSET + 16], b"Xen\0");
        assert_eq!(&b[CODE_OFFSET..CODE_OFFSET + 4], &CODE);
        // e_phoff, e_phentsize, e_phnum as a loader reads them.
        assert_eq!(u64::from_le_bytes(b[32..40].try_into().unwrap()), 64);
        assert_eq!(u16::from_le_bytes(b[54..56].try_into().unwrap()), 56);
        assert_eq!(u16::from_le_bytes(b[56..58].try_into().unwrap()), 2);
    }
}
