//! MurmurHash3 x86_32 as Spark computes it (`org.apache.spark.unsafe.hash.Murmur3_x86_32`),
//! including the pre-3.0 variant whose tail handling differs from the reference algorithm.

/// The seed every Spark ML hashing transform uses.
pub const SEED: i32 = 42;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

fn mix_k1(k1: u32) -> u32 {
    k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_h1(h1: u32, k1: u32) -> u32 {
    (h1 ^ k1)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix(mut h1: u32, length: u32) -> u32 {
    h1 ^= length;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^ (h1 >> 16)
}

fn body(bytes: &[u8], seed: i32) -> u32 {
    bytes.chunks_exact(4).fold(seed as u32, |h1, word| {
        let k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        mix_h1(h1, mix_k1(k))
    })
}

/// `Murmur3_x86_32.hashInt`.
pub fn hash_int(input: i32, seed: i32) -> i32 {
    fmix(mix_h1(seed as u32, mix_k1(input as u32)), 4) as i32
}

/// `Murmur3_x86_32.hashLong`: low word, then high word.
pub fn hash_long(input: i64, seed: i32) -> i32 {
    let low = input as u32;
    let high = ((input as u64) >> 32) as u32;
    let h1 = mix_h1(seed as u32, mix_k1(low));
    fmix(mix_h1(h1, mix_k1(high)), 8) as i32
}

/// `hashUnsafeBytes2`: the reference MurmurHash3 x86_32 (what Python's `mmh3.hash` returns).
/// Spark ≥ 3.0 `HashingTF` and every `FeatureHasher` hash strings' UTF-8 bytes with it.
pub fn hash_bytes(bytes: &[u8], seed: i32) -> i32 {
    let aligned = bytes.len() - bytes.len() % 4;
    let mut h1 = body(&bytes[..aligned], seed);
    let mut k1 = 0u32;
    for (shift, b) in bytes[aligned..].iter().enumerate() {
        k1 ^= u32::from(*b) << (8 * shift);
    }
    h1 ^= mix_k1(k1);
    fmix(h1, bytes.len() as u32) as i32
}

/// `hashUnsafeBytes`: Spark < 3.0 `HashingTF`'s variant, which mixes each trailing byte
/// (sign-extended, as Java's `byte` is) as a whole block of its own.
pub fn hash_bytes_legacy(bytes: &[u8], seed: i32) -> i32 {
    let aligned = bytes.len() - bytes.len() % 4;
    let mut h1 = body(&bytes[..aligned], seed);
    for b in &bytes[aligned..] {
        h1 = mix_h1(h1, mix_k1(i32::from(*b as i8) as u32));
    }
    fmix(h1, bytes.len() as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_murmur3() {
        // Python: `mmh3.hash(s.encode(), 42)` (mmh3 5.x implements the reference algorithm).
        assert_eq!(hash_bytes(b"a", 42), -1293573533);
        assert_eq!(hash_bytes(b"", 42), 142593372);
        assert_eq!(hash_bytes(b"hello", 42), -488910111);
        assert_eq!(
            hash_bytes("h\u{e9}llo w\u{f6}rld".as_bytes(), 42),
            857211688
        );
        assert_eq!(hash_bytes(b"abcd", 42), -396302900);
        // hashInt / hashLong are the reference hash of the 4 / 8 little-endian bytes:
        // `mmh3.hash(struct.pack('<i', 1), 42)`, `mmh3.hash(struct.pack('<q', x), 42)`.
        assert_eq!(hash_int(1, 42), -559580957);
        assert_eq!(hash_int(-7, 42), -1618159745);
        assert_eq!(hash_long(1, 42), -1712319331);
        assert_eq!(hash_long(-1234567890123, 42), 1482864047);
    }

    #[test]
    fn legacy_variant_differs_only_in_the_tail() {
        // A separate Python transcription of Spark 2's `hashUnsafeBytes` (each tail byte
        // sign-extended and mixed as its own block), kept in the test's history.
        assert_eq!(hash_bytes_legacy(b"a", 42), 1485273170);
        assert_eq!(hash_bytes_legacy(b"hello", 42), -1008564952);
        assert_eq!(
            hash_bytes_legacy("h\u{e9}llo w\u{f6}rld".as_bytes(), 42),
            -281075962
        );
        assert_eq!(hash_bytes_legacy(b"", 42), hash_bytes(b"", 42));
        assert_eq!(hash_bytes_legacy(b"abcd", 42), hash_bytes(b"abcd", 42));
    }
}
