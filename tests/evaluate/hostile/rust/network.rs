// Connect to a listener on the host's loopback and send a message.
use std::io::Write;
use std::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match TcpStream::connect(format!("{}:{}", args[1], args[2])) {
        Ok(mut s) => {
            let _ = s.write_all(b"ESCAPED");
            println!("ESCAPED connected");
        }
        Err(e) => {
            println!("blocked: {}", e);
            std::process::exit(1);
        }
    }
}
