// Try to create each path given, then delete the file given after --delete.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cut = args.iter().position(|a| a == "--delete").unwrap();
    for p in &args[..cut] {
        match std::fs::write(p, "pwned") {
            Ok(_) => println!("ESCAPED wrote {}", p),
            Err(e) => println!("blocked write {}: {}", p, e),
        }
    }
    match std::fs::remove_file(&args[cut + 1]) {
        Ok(_) => println!("ESCAPED deleted {}", args[cut + 1]),
        Err(e) => println!("blocked delete: {}", e),
    }
}
