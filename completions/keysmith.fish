function __keysmith_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __keysmith_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __keysmith_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __keysmith_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __keysmith_parse_tokens -S
    set -l unparsed_tokens (__keysmith_tokens -pc)
    switch $unparsed_tokens[1]
    case 'keysmith'
        __keysmith_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'generate'
            __keysmith_parse_subcommand 0 't=' 'b=' 'C=' 'f=' 'N=' 'm=' 'ed25519-pkcs8' 'a=' 'Z=' 'O=+' 'w/provider=' 'force' 'q' 'version' 'h/help'
        case 'public'
            __keysmith_parse_subcommand 0 'f=' 'P=' 'version' 'h/help'
        case 'fingerprint'
            __keysmith_parse_subcommand 0 'f=' 'E=' 'v' 'B' 'json' 'version' 'h/help'
        case 'passphrase'
            __keysmith_parse_subcommand 0 'f=' 'P=' 'N=' 'm=' 'ed25519-pkcs8' 'a=' 'Z=' 'version' 'h/help'
        case 'comment'
            __keysmith_parse_subcommand 0 'f=' 'C=' 'P=' 'a=' 'Z=' 'version' 'h/help'
        case 'convert'
            __keysmith_parse_subcommand 0 'f=' 'to=' 'public' 'P=' 'a=' 'Z=' 'version' 'h/help'
        case 'known-hosts'
            __keysmith_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'find'
                __keysmith_parse_subcommand 1 'f=' 'H' 'version' 'h/help'
            case 'remove'
                __keysmith_parse_subcommand 1 'f=' 'version' 'h/help'
            case 'hash'
                __keysmith_parse_subcommand 0 'f=' 'version' 'h/help'
            end
        case 'sign'
            __keysmith_parse_subcommand -r 1 'f=' 'n=' 'P=' 'O=+' 'w/provider=' 'U' 'q' 'version' 'h/help'
        case 'verify'
            __keysmith_parse_subcommand 0 'f=' 'I=' 'n=' 's=' 'O=+' 'q' 'version' 'h/help'
        case 'find-principals'
            __keysmith_parse_subcommand 0 's=' 'f=' 'O=+' 'version' 'h/help'
        case 'check-novalidate'
            __keysmith_parse_subcommand 0 'n=' 's=' 'O=+' 'q' 'version' 'h/help'
        case 'copy-id'
            __keysmith_parse_subcommand -r 1 'i=' 'f' 'n' 'key-options=' 'p=' 'o=+' 'F=' 't=' 's' 'password-stdin' 'v' 'json' 'hosts-file=' 'parallel=' 'version' 'h/help'
        case 'remove-id'
            __keysmith_parse_subcommand -r 1 'i=' 'n' 'p=' 'o=+' 'F=' 't=' 's' 'password-stdin' 'v' 'json' 'hosts-file=' 'parallel=' 'version' 'h/help'
        case 'list-ids'
            __keysmith_parse_subcommand -r 1 'p=' 'o=+' 'F=' 't=' 's' 'password-stdin' 'v' 'json' 'hosts-file=' 'parallel=' 'version' 'h/help'
        case 'rotate'
            __keysmith_parse_subcommand -r 1 'i=' 'old=' 'key-options=' 'n' 'p=' 'o=+' 'F=' 't=' 's' 'password-stdin' 'v' 'json' 'hosts-file=' 'parallel=' 'version' 'h/help'
        case 'challenge'
            __keysmith_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'issue'
                __keysmith_parse_subcommand 0 'state=' 'audience=' 'ttl=' 'version' 'h/help'
            case 'respond'
                __keysmith_parse_subcommand 1 'f=' 'P=' 'audience=' 'w/provider=' 'version' 'h/help'
            case 'verify'
                __keysmith_parse_subcommand 2 'state=' 'audience=' 'authorized-keys=' 'from=' 'json' 'response-file=' 'version' 'h/help'
            end
        case 'serve'
            __keysmith_parse_subcommand 0 'p=' 'listen=+' 'host-key=+' 'authorized-keys=' 'login-grace-time=' 'max-startups=' 'log-level=' 'version' 'h/help'
        case 'agent'
            __keysmith_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'add'
                __keysmith_parse_subcommand -r 1 't=' 'c' 'q' 'S=' 'version' 'h/help'
            case 'list'
                __keysmith_parse_subcommand 0 'l' 'L' 'E=' 'json' 'version' 'h/help'
            case 'remove'
                __keysmith_parse_subcommand -r 1 'D/all' 'q' 'version' 'h/help'
            case 'lock'
                __keysmith_parse_subcommand 0 'version' 'h/help'
            case 'unlock'
                __keysmith_parse_subcommand 0 'version' 'h/help'
            end
        case 'help'
            __keysmith_parse_subcommand -r 1 'version'
        end
    end
end

function __keysmith_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __keysmith_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __keysmith_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __keysmith_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__keysmith_tokens -p)
    if test -z "$(__keysmith_tokens -t)"
        set -l index (count (__keysmith_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'keysmith' -f
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'generate' -d 'Generate a new key pair (ssh-keygen -t).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'public' -d 'Print the public key of a private key file (ssh-keygen -y).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'fingerprint' -d 'Show the fingerprints of the keys in a file (ssh-keygen -l).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'passphrase' -d 'Change or remove a private key\'s passphrase (ssh-keygen -p).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'comment' -d 'Change the comment of an OpenSSH-format private key (ssh-keygen -c).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'convert' -d 'Convert a key between OpenSSH, RFC 4716, PEM and PKCS#8 (ssh-keygen -e / -i / -p -m).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'known-hosts' -d 'Find, remove or hash hosts in a known_hosts file (ssh-keygen -F / -R / -H).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'sign' -d 'Sign files with an SSH key (ssh-keygen -Y sign).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'verify' -d 'Verify an SSH signature of standard input against allowed signers (ssh-keygen -Y verify).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'find-principals' -d 'Print the principals allowed to have made a signature (ssh-keygen -Y find-principals).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'check-novalidate' -d 'Check an SSH signature of standard input without trusting its key (ssh-keygen -Y check-novalidate).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'copy-id' -d 'Install public keys in remote authorized_keys files (ssh-copy-id), over keysmith\'s own SSH client.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'remove-id' -d 'Remove public keys from remote authorized_keys files.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'list-ids' -d 'List the keys in remote authorized_keys files with their fingerprints.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'rotate' -d 'Replace an old key by a new one in remote authorized_keys files without locking anyone out.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'challenge' -d 'Prove who holds a key: issue a challenge, answer it, verify the answer.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'serve' -d 'Run an SSH server that proves who holds a key, and runs nothing.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'agent' -d 'Manage the keys of a running ssh-agent (ssh-add).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" t' -s 't' -d 'Key type: ed25519, rsa, ecdsa, ed25519-sk or ecdsa-sk.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" b' -s 'b' -d 'Key size: RSA 1024-16384 (default 3072); ECDSA 256, 384 or 521.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" C' -s 'C' -d 'Comment (default user@host).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" f' -s 'f' -d 'Private key file (default ~/.ssh/id_TYPE).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" N' -s 'N' -d 'New passphrase (\'\' for none).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" m' -s 'm' -d 'Private key format: openssh (default), pem or pkcs8.' -rfka 'openssh pem pkcs8'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" ed25519-pkcs8' -l 'ed25519-pkcs8' -d 'With -m pkcs8, write an Ed25519 key as PKCS#8 instead of the OpenSSH format.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" a' -s 'a' -d 'bcrypt_pbkdf rounds for the OpenSSH format, 1 to 1024 (default 24).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" Z' -s 'Z' -d 'Cipher for the OpenSSH format (default aes256-ctr).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate"' -s 'O' -d 'Security key option, as ssh-keygen -O (application=, resident, ...).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" provider w' -s 'w' -l 'provider' -d 'Security key provider: an OpenSSH FIDO middleware library (default: SSH_SK_PROVIDER, else libfido2).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" force' -l 'force' -d 'Replace an existing key file.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" q' -s 'q' -d 'Print nothing on success.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith generate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith public" f' -s 'f' -d 'Private key file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith public" P' -s 'P' -d 'Passphrase of the private key.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith public" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith public" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" f' -s 'f' -d 'Key file, authorized_keys or known_hosts (\'-\' for standard input).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" E' -s 'E' -d 'Fingerprint hash: sha256 (default) or md5.' -rfka 'sha256 md5'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" v' -s 'v' -d 'Also draw the key\'s randomart.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" B' -s 'B' -d 'Print the bubblebabble digest instead.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" json' -l 'json' -d 'Print a JSON array of {bits, fingerprint, comment, type}, with legacy (DSA), application (security keys) and certificate details where they apply.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith fingerprint" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" f' -s 'f' -d 'Private key file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" P' -s 'P' -d 'Old passphrase.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" N' -s 'N' -d 'New passphrase (\'\' for none).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" m' -s 'm' -d 'Format to write: openssh (default), pem or pkcs8.' -rfka 'openssh pem pkcs8'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" ed25519-pkcs8' -l 'ed25519-pkcs8' -d 'With -m pkcs8, write an Ed25519 key as PKCS#8 instead of the OpenSSH format.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" a' -s 'a' -d 'bcrypt_pbkdf rounds for the OpenSSH format, 1 to 1024 (default 24).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" Z' -s 'Z' -d 'Cipher for the OpenSSH format (default aes256-ctr).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith passphrase" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" f' -s 'f' -d 'Private key file (OpenSSH format).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" C' -s 'C' -d 'New comment.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" P' -s 'P' -d 'Passphrase of the private key.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" a' -s 'a' -d 'bcrypt_pbkdf rounds for the OpenSSH format, 1 to 1024 (default 24).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" Z' -s 'Z' -d 'Cipher for the OpenSSH format (default aes256-ctr).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith comment" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" f' -s 'f' -d 'Key file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" to' -l 'to' -d 'Target format: openssh, rfc4716, pem or pkcs8.' -rfka 'openssh rfc4716 pem pkcs8'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" public' -l 'public' -d 'Print the public key even when FILE is a private key.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" P' -s 'P' -d 'Passphrase of the private key.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" a' -s 'a' -d 'bcrypt_pbkdf rounds for the OpenSSH format, 1 to 1024 (default 24).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" Z' -s 'Z' -d 'Cipher for the OpenSSH format (default aes256-ctr).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith convert" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith known-hosts" -eq 1' -fa 'find' -d 'Print the lines for HOST (ssh-keygen -F); exit 1 when there are none.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith known-hosts" -eq 1' -fa 'remove' -d 'Remove HOST\'s keys (ssh-keygen -R); the old file is kept as FILE.old.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith known-hosts" -eq 1' -fa 'hash' -d 'Hash every plain host name (ssh-keygen -H); the old file is kept as FILE.old.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts find" f' -s 'f' -d 'known_hosts file (default ~/.ssh/known_hosts).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts find" H' -s 'H' -d 'Print the found lines with their host names hashed.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts find" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts find" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts remove" f' -s 'f' -d 'known_hosts file (default ~/.ssh/known_hosts).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts remove" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts remove" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts hash" f' -s 'f' -d 'known_hosts file (default ~/.ssh/known_hosts).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts hash" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith known-hosts hash" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" f' -s 'f' -d 'Private key file (or its .pub or -cert.pub file).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" n' -s 'n' -d 'Signature namespace, e.g. file, git or email.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" P' -s 'P' -d 'Passphrase of the private key.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign"' -s 'O' -d 'Signing option: hashalg=sha256 or hashalg=sha512.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" provider w' -s 'w' -l 'provider' -d 'Security key provider: an OpenSSH FIDO middleware library (default: SSH_SK_PROVIDER, else libfido2).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" U' -s 'U' -d 'The key is in ssh-agent: -f names its public key, and the agent signs.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" q' -s 'q' -d 'Do not report each file signed.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith sign" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" f' -s 'f' -d 'allowed_signers file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" I' -s 'I' -d 'Identity (principal) that must have signed.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" n' -s 'n' -d 'Signature namespace.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" s' -s 's' -d 'Signature file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify"' -s 'O' -d 'verify-time=YYYYMMDD[HHMM[SS]][Z] to check validity at that time, or print-pubkey.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" q' -s 'q' -d 'Print nothing on standard output.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith find-principals" s' -s 's' -d 'Signature file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith find-principals" f' -s 'f' -d 'allowed_signers file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith find-principals"' -s 'O' -d 'verify-time=YYYYMMDD[HHMM[SS]][Z] to check validity at that time.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith find-principals" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith find-principals" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate" n' -s 'n' -d 'Signature namespace.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate" s' -s 's' -d 'Signature file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate"' -s 'O' -d 'verify-time=YYYYMMDD[HHMM[SS]][Z] to check validity at that time, or print-pubkey.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate" q' -s 'q' -d 'Print nothing on standard output.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith check-novalidate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" i' -s 'i' -d 'Public key file to install (FILE.pub is used for a private key FILE); default: the newest ~/.ssh/id*.pub.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" f' -s 'f' -d 'Install the keys even if they are already present.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" n' -s 'n' -d 'Dry run: show what would be installed or repaired, change nothing.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" key-options' -l 'key-options' -d 'authorized_keys options to put before each key, e.g. \'restrict,from="10.0.0.0/8"\'.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" p' -s 'p' -d 'Port to connect to (wins over -o Port and ssh_config).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id"' -s 'o' -d 'An ssh_config option, as \'Keyword=value\' (may be repeated).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" F' -s 'F' -d 'ssh_config file to read instead of ~/.ssh/config.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" t' -s 't' -d 'The remote authorized_keys path (relative paths are under the home directory).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" s' -s 's' -d 'Use SFTP instead of a remote shell (for servers or accounts without a POSIX shell).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" password-stdin' -l 'password-stdin' -d 'Read the password from the first line of standard input.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" v x' -s 'v' -s 'x' -d 'Say what happens on the connection.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" hosts-file' -l 'hosts-file' -d 'A file of destinations, one [user@]host or ssh://[user@]host[:port] a line (\'#\' starts a comment).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" parallel' -l 'parallel' -d 'How many hosts to work on at the same time.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith copy-id" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" i' -s 'i' -d 'Public key file whose keys to remove; default: the newest ~/.ssh/id*.pub.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" n' -s 'n' -d 'Dry run: show which lines would be removed, change nothing.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" p' -s 'p' -d 'Port to connect to (wins over -o Port and ssh_config).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id"' -s 'o' -d 'An ssh_config option, as \'Keyword=value\' (may be repeated).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" F' -s 'F' -d 'ssh_config file to read instead of ~/.ssh/config.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" t' -s 't' -d 'The remote authorized_keys path (relative paths are under the home directory).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" s' -s 's' -d 'Use SFTP instead of a remote shell (for servers or accounts without a POSIX shell).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" password-stdin' -l 'password-stdin' -d 'Read the password from the first line of standard input.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" v x' -s 'v' -s 'x' -d 'Say what happens on the connection.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" hosts-file' -l 'hosts-file' -d 'A file of destinations, one [user@]host or ssh://[user@]host[:port] a line (\'#\' starts a comment).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" parallel' -l 'parallel' -d 'How many hosts to work on at the same time.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith remove-id" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" p' -s 'p' -d 'Port to connect to (wins over -o Port and ssh_config).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids"' -s 'o' -d 'An ssh_config option, as \'Keyword=value\' (may be repeated).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" F' -s 'F' -d 'ssh_config file to read instead of ~/.ssh/config.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" t' -s 't' -d 'The remote authorized_keys path (relative paths are under the home directory).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" s' -s 's' -d 'Use SFTP instead of a remote shell (for servers or accounts without a POSIX shell).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" password-stdin' -l 'password-stdin' -d 'Read the password from the first line of standard input.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" v x' -s 'v' -s 'x' -d 'Say what happens on the connection.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" hosts-file' -l 'hosts-file' -d 'A file of destinations, one [user@]host or ssh://[user@]host[:port] a line (\'#\' starts a comment).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" parallel' -l 'parallel' -d 'How many hosts to work on at the same time.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith list-ids" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" i' -s 'i' -d 'The new private key (NEWKEY.pub beside it must match it).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" old' -l 'old' -d 'The old public key file (every key in it is removed); OLDKEY beside it, if unencrypted or its passphrase is given, also logs in.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" key-options' -l 'key-options' -d 'authorized_keys options for the new key (default: those of the old key\'s line).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" n' -s 'n' -d 'Dry run: show what would be installed and removed on each host, change nothing.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" p' -s 'p' -d 'Port to connect to (wins over -o Port and ssh_config).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate"' -s 'o' -d 'An ssh_config option, as \'Keyword=value\' (may be repeated).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" F' -s 'F' -d 'ssh_config file to read instead of ~/.ssh/config.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" t' -s 't' -d 'The remote authorized_keys path (relative paths are under the home directory).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" s' -s 's' -d 'Use SFTP instead of a remote shell (for servers or accounts without a POSIX shell).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" password-stdin' -l 'password-stdin' -d 'Read the password from the first line of standard input.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" v x' -s 'v' -s 'x' -d 'Say what happens on the connection.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" hosts-file' -l 'hosts-file' -d 'A file of destinations, one [user@]host or ssh://[user@]host[:port] a line (\'#\' starts a comment).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" parallel' -l 'parallel' -d 'How many hosts to work on at the same time.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith rotate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith challenge" -eq 1' -fa 'issue' -d 'Print a new challenge token.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith challenge" -eq 1' -fa 'respond' -d 'Answer a challenge token with a private key.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith challenge" -eq 1' -fa 'verify' -d 'Verify a response to a challenge token.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge issue" state' -l 'state' -d 'State directory (default $XDG_STATE_HOME/keysmith/challenge or ~/.local/state/keysmith/challenge).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge issue" audience' -l 'audience' -d 'This server\'s name or URL, put in every token and required of every token verified; kept in the state directory on first use, which then refuses another.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge issue" ttl' -l 'ttl' -d 'Seconds the token stays valid (default 300).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge issue" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge issue" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" f' -s 'f' -d 'Private key file.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" P' -s 'P' -d 'Passphrase of the private key.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" audience' -l 'audience' -d 'The name or URL of the server you mean to answer; a token for another is refused.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" provider w' -s 'w' -l 'provider' -d 'Security key provider: an OpenSSH FIDO middleware library (default: SSH_SK_PROVIDER, else libfido2).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge respond" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" state' -l 'state' -d 'State directory (default $XDG_STATE_HOME/keysmith/challenge or ~/.local/state/keysmith/challenge).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" audience' -l 'audience' -d 'This server\'s name or URL, put in every token and required of every token verified; kept in the state directory on first use, which then refuses another.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" authorized-keys' -l 'authorized-keys' -d 'The authorized_keys file listing the keys allowed to answer.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" from' -l 'from' -d 'The client\'s IP address, matched against from= options.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" json' -l 'json' -d 'Print {fingerprint, comment, type, line} as JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" response-file' -l 'response-file' -d 'The file holding the response (- for standard input).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith challenge verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" p' -s 'p' -d 'Port to listen on (0 picks a free one).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve"' -l 'listen' -d 'Address to listen on, repeatable (default 0.0.0.0 and ::).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve"' -l 'host-key' -d 'Host private key file (unencrypted, mode 600), repeatable.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" authorized-keys' -l 'authorized-keys' -d 'The authorized_keys file, read again for each key offered.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" login-grace-time' -l 'login-grace-time' -d 'Seconds a client has to authenticate (default 120).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" max-startups' -l 'max-startups' -d 'Unauthenticated connections at once; more are dropped (default 10).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" log-level' -l 'log-level' -d 'Least severe log level: debug, info, notice, warning, error (default info).' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith agent" -eq 1' -fa 'add' -d 'Add private keys to the agent (ssh-add).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith agent" -eq 1' -fa 'list' -d 'List the agent\'s keys (ssh-add -l, -L).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith agent" -eq 1' -fa 'remove' -d 'Remove keys from the agent (ssh-add -d, -D).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith agent" -eq 1' -fa 'lock' -d 'Lock the agent with a password (ssh-add -x).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_positional "keysmith agent" -eq 1' -fa 'unlock' -d 'Unlock the agent (ssh-add -X).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" t' -s 't' -d 'How long the agent keeps the keys: seconds, or a time such as 30m, 1h or 1h30m.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" c' -s 'c' -d 'The agent asks for confirmation before each use of the keys.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" q' -s 'q' -d 'Do not report what was added.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" S' -s 'S' -d 'Security key provider the agent signs through.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" l' -s 'l' -d 'Fingerprints of the keys (the default).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" L' -s 'L' -d 'Public key lines of the keys.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" E' -s 'E' -d 'Fingerprint hash: md5, sha1, sha256, sha384 or sha512.' -rfka ''
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" json' -l 'json' -d 'Print JSON.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent remove" D all' -l 'all' -s 'D' -d 'Remove every key (ssh-add -D).'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent remove" q' -s 'q' -d 'Do not report what was removed.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent remove" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent remove" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent lock" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent lock" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent unlock" version' -l 'version' -d 'Show the version.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith agent unlock" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'keysmith' -n '__keysmith_should_offer_completions_for_flags_or_options "keysmith help" version' -l 'version' -d 'Show the version.'
