//! An S3 log object's bytes (plain or gzip), fed in pieces of any size, as chunks of whole lines
//! with small bounds: never a panic; chunks follow one another (line numbers and offsets add
//! up), and for plain text the chunks are the text itself, byte for byte, up to where a bound or
//! an error stopped it. The same bytes fed in other pieces give the same chunks and the same
//! outcome (for a corrupt gzip stream: chunks that agree as far as both go).
#![no_main]

use libfuzzer_sys::fuzz_target;
use loglake::decode::s3_object::{Chunk, ObjectLimits, ObjectText, is_gzip};

fn chunks(data: &[u8], piece: usize) -> (Vec<Chunk>, Option<&'static str>) {
    let limits = ObjectLimits { chunk_bytes: 64, max_line_bytes: 256, max_object_bytes: 4096, max_object_lines: 100 };
    let mut text = ObjectText::new(is_gzip(data), limits);
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let ended = rest.is_empty();
        if ended {
            text.end();
        } else {
            let used = text.feed(&rest[..piece.min(rest.len())]);
            // Nothing taken: reading has failed, and the error comes out as a chunk result.
            rest = if used == 0 { &[] } else { &rest[used..] };
        }
        loop {
            match text.next_chunk() {
                Ok(Some(chunk)) => out.push(chunk),
                Ok(None) if ended => return (out, None),
                Ok(None) => break,
                Err(error) => return (out, Some(error.kind())),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, data)) = data.split_first() else { return };
    let (first, error) = chunks(data, 1 + piece as usize);
    let (second, second_error) = chunks(data, 4096);
    let same = |a: &[Chunk], b: &[Chunk]| {
        a.iter().zip(b).all(|(a, b)| (a.first_line, a.offset, &a.text) == (b.first_line, b.offset, &b.text))
    };
    let gzip_failure = |e: &Option<&str>| matches!(e, Some("corrupt_gzip" | "truncated_gzip"));
    if gzip_failure(&error) || gzip_failure(&second_error) {
        // Where zlib notices a corrupt stream depends on how much it was given at once, so the
        // text decoded before the failure may differ: one outcome's chunks lead the other's.
        assert!(same(&first, &second), "the chunks before a gzip failure agree");
    } else {
        assert_eq!(error, second_error, "the outcome does not depend on how the bytes were fed");
        assert_eq!(first.len(), second.len());
        assert!(same(&first, &second));
    }
    let mut offset = 0;
    for chunk in &first {
        assert_eq!(chunk.offset, offset, "chunks follow one another");
        offset += chunk.text.len() as u64;
    }
    if !is_gzip(data) {
        let joined: String = first.iter().map(|c| c.text.as_str()).collect();
        assert!(data.starts_with(joined.as_bytes()), "plain chunks are the object's own bytes");
    }
});
