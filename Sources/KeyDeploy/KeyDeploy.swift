/// Installs, lists and removes public keys in a remote account's authorized_keys over
/// keysmith's own SSH client.
public enum KeyDeploy {}
