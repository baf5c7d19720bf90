// Flood stdout forever (ignoring write errors).
use std::io::Write;

fn main() {
    let line = [b'r'; 1024];
    let mut out = std::io::stdout().lock();
    loop {
        let _ = out.write_all(&line);
    }
}
