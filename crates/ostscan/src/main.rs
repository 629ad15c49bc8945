fn main() {
    println!("ostscan: under construction");
}
