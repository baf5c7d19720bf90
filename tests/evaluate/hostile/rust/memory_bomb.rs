// Allocate and touch memory until something stops us.
fn main() {
    let mut keep: Vec<Vec<u8>> = Vec::new();
    loop {
        keep.push(vec![1u8; 64 << 20]);
    }
}
