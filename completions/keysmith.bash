#!/bin/bash

__keysmith_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__keysmith_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__keysmith_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__keysmith_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_keysmith() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    generate|public|fingerprint|passphrase|comment|convert|known-hosts|sign|verify|find-principals|match-principals|check-novalidate|cert|copy-id|remove-id|list-ids|rotate|challenge|serve|krl|agent|sk|help)
        # Offer subcommand argument completions
        "_keysmith_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'generate public fingerprint passphrase comment convert known-hosts sign verify find-principals match-principals check-novalidate cert copy-id remove-id list-ids rotate challenge serve krl agent sk help' -- "${cur}"))
        ;;
    esac
}

_keysmith_generate() {
    repeating_flags=()
    non_repeating_flags=(--ed25519-pkcs8 --force -q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-t -b -C -f -N -m -a -Z -w --provider)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-t')
        return
        ;;
    '-b')
        return
        ;;
    '-C')
        return
        ;;
    '-f')
        return
        ;;
    '-N')
        return
        ;;
    '-m')
        __keysmith_add_completions -W 'openssh'$'\n''pem'$'\n''pkcs8'
        return
        ;;
    '-a')
        return
        ;;
    '-Z')
        return
        ;;
    '-O')
        return
        ;;
    '-w'|'--provider')
        return
        ;;
    esac
}

_keysmith_public() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f -P)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-P')
        return
        ;;
    esac
}

_keysmith_fingerprint() {
    repeating_flags=()
    non_repeating_flags=(-v -B --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-f -E)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-E')
        __keysmith_add_completions -W 'sha256'$'\n''md5'
        return
        ;;
    esac
}

_keysmith_passphrase() {
    repeating_flags=()
    non_repeating_flags=(--ed25519-pkcs8 --version -h --help)
    repeating_options=()
    non_repeating_options=(-f -P -N -m -a -Z)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-P')
        return
        ;;
    '-N')
        return
        ;;
    '-m')
        __keysmith_add_completions -W 'openssh'$'\n''pem'$'\n''pkcs8'
        return
        ;;
    '-a')
        return
        ;;
    '-Z')
        return
        ;;
    esac
}

_keysmith_comment() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f -C -P -a -Z)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-C')
        return
        ;;
    '-P')
        return
        ;;
    '-a')
        return
        ;;
    '-Z')
        return
        ;;
    esac
}

_keysmith_convert() {
    repeating_flags=()
    non_repeating_flags=(--public --version -h --help)
    repeating_options=()
    non_repeating_options=(-f --to -P -a -Z)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '--to')
        __keysmith_add_completions -W 'openssh'$'\n''rfc4716'$'\n''pem'$'\n''pkcs8'
        return
        ;;
    '-P')
        return
        ;;
    '-a')
        return
        ;;
    '-Z')
        return
        ;;
    esac
}

_keysmith_known-hosts() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    find|remove|hash)
        # Offer subcommand argument completions
        "_keysmith_known-hosts_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'find remove hash' -- "${cur}"))
        ;;
    esac
}

_keysmith_known-hosts_find() {
    repeating_flags=()
    non_repeating_flags=(-H --version -h --help)
    repeating_options=()
    non_repeating_options=(-f)
    __keysmith_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    esac
}

_keysmith_known-hosts_remove() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f)
    __keysmith_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    esac
}

_keysmith_known-hosts_hash() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    esac
}

_keysmith_sign() {
    repeating_flags=()
    non_repeating_flags=(-U -q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-f -n -P -w --provider)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-n')
        return
        ;;
    '-P')
        return
        ;;
    '-O')
        return
        ;;
    '-w'|'--provider')
        return
        ;;
    esac
}

_keysmith_verify() {
    repeating_flags=()
    non_repeating_flags=(-q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-f -I -n -s -r)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-I')
        return
        ;;
    '-n')
        return
        ;;
    '-s')
        return
        ;;
    '-r')
        return
        ;;
    '-O')
        return
        ;;
    esac
}

_keysmith_find-principals() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-s -f)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-s')
        return
        ;;
    '-f')
        return
        ;;
    '-O')
        return
        ;;
    esac
}

_keysmith_match-principals() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f -I)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-I')
        return
        ;;
    esac
}

_keysmith_check-novalidate() {
    repeating_flags=()
    non_repeating_flags=(-q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-n -s)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-n')
        return
        ;;
    '-s')
        return
        ;;
    '-O')
        return
        ;;
    esac
}

_keysmith_cert() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    sign|show)
        # Offer subcommand argument completions
        "_keysmith_cert_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'sign show' -- "${cur}"))
        ;;
    esac
}

_keysmith_cert_sign() {
    repeating_flags=()
    non_repeating_flags=(-h -U -q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-s -I -n -V -z -t -P -w --provider)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-s')
        return
        ;;
    '-I')
        return
        ;;
    '-n')
        return
        ;;
    '-V')
        return
        ;;
    '-z')
        return
        ;;
    '-O')
        return
        ;;
    '-t')
        return
        ;;
    '-P')
        return
        ;;
    '-w'|'--provider')
        return
        ;;
    esac
}

_keysmith_cert_show() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options -1
}

_keysmith_copy-id() {
    repeating_flags=()
    non_repeating_flags=(-f -n -s --password-stdin -v -x --json --version -h --help)
    repeating_options=(-o)
    non_repeating_options=(-i --key-options --cert-authority --principals -p -J --jump -F -t --hosts-file --parallel)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-i')
        return
        ;;
    '--key-options')
        return
        ;;
    '--cert-authority')
        return
        ;;
    '--principals')
        return
        ;;
    '-p')
        return
        ;;
    '-o')
        return
        ;;
    '-J'|'--jump')
        return
        ;;
    '-F')
        return
        ;;
    '-t')
        return
        ;;
    '--hosts-file')
        return
        ;;
    '--parallel')
        return
        ;;
    esac
}

_keysmith_remove-id() {
    repeating_flags=()
    non_repeating_flags=(-n -s --password-stdin -v -x --json --version -h --help)
    repeating_options=(-o)
    non_repeating_options=(-i -p -J --jump -F -t --hosts-file --parallel)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-i')
        return
        ;;
    '-p')
        return
        ;;
    '-o')
        return
        ;;
    '-J'|'--jump')
        return
        ;;
    '-F')
        return
        ;;
    '-t')
        return
        ;;
    '--hosts-file')
        return
        ;;
    '--parallel')
        return
        ;;
    esac
}

_keysmith_list-ids() {
    repeating_flags=()
    non_repeating_flags=(-s --password-stdin -v -x --json --version -h --help)
    repeating_options=(-o)
    non_repeating_options=(-p -J --jump -F -t --hosts-file --parallel)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-p')
        return
        ;;
    '-o')
        return
        ;;
    '-J'|'--jump')
        return
        ;;
    '-F')
        return
        ;;
    '-t')
        return
        ;;
    '--hosts-file')
        return
        ;;
    '--parallel')
        return
        ;;
    esac
}

_keysmith_rotate() {
    repeating_flags=()
    non_repeating_flags=(-n -s --password-stdin -v -x --json --version -h --help)
    repeating_options=(-o)
    non_repeating_options=(-i --old --key-options -p -J --jump -F -t --hosts-file --parallel)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-i')
        return
        ;;
    '--old')
        return
        ;;
    '--key-options')
        return
        ;;
    '-p')
        return
        ;;
    '-o')
        return
        ;;
    '-J'|'--jump')
        return
        ;;
    '-F')
        return
        ;;
    '-t')
        return
        ;;
    '--hosts-file')
        return
        ;;
    '--parallel')
        return
        ;;
    esac
}

_keysmith_challenge() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    issue|respond|verify|serve)
        # Offer subcommand argument completions
        "_keysmith_challenge_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'issue respond verify serve' -- "${cur}"))
        ;;
    esac
}

_keysmith_challenge_issue() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--state --audience --store-timeout --ttl)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--state')
        return
        ;;
    '--audience')
        return
        ;;
    '--store-timeout')
        return
        ;;
    '--ttl')
        return
        ;;
    esac
}

_keysmith_challenge_respond() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(-f -P --audience -w --provider)
    __keysmith_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-P')
        return
        ;;
    '--audience')
        return
        ;;
    '-w'|'--provider')
        return
        ;;
    esac
}

_keysmith_challenge_verify() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--state --audience --store-timeout --authorized-keys --from --user --revoked-keys --response-file)
    __keysmith_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--state')
        return
        ;;
    '--audience')
        return
        ;;
    '--store-timeout')
        return
        ;;
    '--authorized-keys')
        return
        ;;
    '--from')
        return
        ;;
    '--user')
        return
        ;;
    '--revoked-keys')
        return
        ;;
    '--response-file')
        return
        ;;
    esac
}

_keysmith_challenge_serve() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--listen --state --authorized-keys --audience --ttl --max-body --timeout --store-timeout --user --revoked-keys --port-file)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--listen')
        return
        ;;
    '--state')
        return
        ;;
    '--authorized-keys')
        return
        ;;
    '--audience')
        return
        ;;
    '--ttl')
        return
        ;;
    '--max-body')
        return
        ;;
    '--timeout')
        return
        ;;
    '--store-timeout')
        return
        ;;
    '--user')
        return
        ;;
    '--revoked-keys')
        return
        ;;
    '--port-file')
        return
        ;;
    esac
}

_keysmith_serve() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--listen --host-key)
    non_repeating_options=(-p --authorized-keys --trusted-user-ca-keys --authorized-principals --revoked-keys --login-grace-time --max-startups --log-level)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-p')
        return
        ;;
    '--listen')
        return
        ;;
    '--host-key')
        return
        ;;
    '--authorized-keys')
        return
        ;;
    '--trusted-user-ca-keys')
        return
        ;;
    '--authorized-principals')
        return
        ;;
    '--revoked-keys')
        return
        ;;
    '--login-grace-time')
        return
        ;;
    '--max-startups')
        return
        ;;
    '--log-level')
        return
        ;;
    esac
}

_keysmith_krl() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|update|check)
        # Offer subcommand argument completions
        "_keysmith_krl_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create update check' -- "${cur}"))
        ;;
    esac
}

_keysmith_krl_create() {
    repeating_flags=()
    non_repeating_flags=(-q --version -h --help)
    repeating_options=()
    non_repeating_options=(-f -s -z -C)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-s')
        return
        ;;
    '-z')
        return
        ;;
    '-C')
        return
        ;;
    esac
}

_keysmith_krl_update() {
    repeating_flags=()
    non_repeating_flags=(-q --version -h --help)
    repeating_options=()
    non_repeating_options=(-f -s -z -C)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    '-s')
        return
        ;;
    '-z')
        return
        ;;
    '-C')
        return
        ;;
    esac
}

_keysmith_krl_check() {
    repeating_flags=()
    non_repeating_flags=(-l --version -h --help)
    repeating_options=()
    non_repeating_options=(-f)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-f')
        return
        ;;
    esac
}

_keysmith_agent() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list|remove|lock|unlock)
        # Offer subcommand argument completions
        "_keysmith_agent_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list remove lock unlock' -- "${cur}"))
        ;;
    esac
}

_keysmith_agent_add() {
    repeating_flags=()
    non_repeating_flags=(-c -q --version -h --help)
    repeating_options=()
    non_repeating_options=(-t -S)
    __keysmith_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-t')
        return
        ;;
    '-S')
        return
        ;;
    esac
}

_keysmith_agent_list() {
    repeating_flags=()
    non_repeating_flags=(-l -L --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-E)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-E')
        return
        ;;
    esac
}

_keysmith_agent_remove() {
    repeating_flags=()
    non_repeating_flags=(--all -D -q --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options -1
}

_keysmith_agent_lock() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0
}

_keysmith_agent_unlock() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0
}

_keysmith_sk() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    download)
        # Offer subcommand argument completions
        "_keysmith_sk_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'download' -- "${cur}"))
        ;;
    esac
}

_keysmith_sk_download() {
    repeating_flags=()
    non_repeating_flags=(--force -q --version -h --help)
    repeating_options=(-O)
    non_repeating_options=(-N -a -Z -w --provider)
    __keysmith_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-O')
        return
        ;;
    '-N')
        return
        ;;
    '-a')
        return
        ;;
    '-Z')
        return
        ;;
    '-w'|'--provider')
        return
        ;;
    esac
}

_keysmith_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __keysmith_offer_flags_options -1
}

complete -o filenames -F _keysmith keysmith
