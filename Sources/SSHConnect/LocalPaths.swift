#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `~/.ssh`, from HOME or the password database.
public func sshDirectory() -> String {
    if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) + "/.ssh" }
    if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) + "/.ssh" }
    return ".ssh"
}

/// Expands a leading `~/`.
public func expandTilde(_ path: String) -> String {
    guard path == "~" || path.hasPrefix("~/") else { return path }
    let ssh = sshDirectory()
    let home = String(ssh.dropLast(5))
    return home + path.dropFirst()
}

/// The local login name.
public func localUserName() -> String {
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    if let u = getenv("USER") { return String(cString: u) }
    return "root"
}
