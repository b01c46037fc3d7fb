# bash completion for sbx(1)

_sbx_templates()
{
	# Template names from the configuration sbx would read, honouring
	# a -c given earlier on the line.
	local i cfg=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -c ]]; then
			cfg=(-c "${COMP_WORDS[i + 1]}")
		fi
	done
	sbx "${cfg[@]}" -l 2>/dev/null |
	    sed -n 's/^{"event":"template","name":"\([^"]*\)".*/\1/p'
}

_sbx()
{
	local cur prev i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	case $prev in
	-t)
		COMPREPLY=($(compgen -W "$(_sbx_templates)" -- "$cur"))
		return ;;
	-r)
		COMPREPLY=($(compgen -W "auto podman docker" -- "$cur"))
		return ;;
	-w)
		COMPREPLY=($(compgen -W "ro rw none" -- "$cur"))
		return ;;
	-c)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-d)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-e|-i|-m|-p|-T)
		return ;;
	esac
	# After the script, the words are its own arguments.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-[cdeimprTtw]) ((i++)) ;;
		--) ((i++)); break ;;
		-*) ;;
		*) break ;;
		esac
	done
	if ((i < COMP_CWORD)); then
		COMPREPLY=($(compgen -f -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-c -D -d -e -h -i -k -l -m -n -p -r -T -t -V -w" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _sbx sbx
