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

_sbx_sessions()
{
	sbx ls 2>/dev/null |
	    sed -n 's/^{"event":"session","id":"\([0-9a-f]*\)".*/\1/p'
}

_sbx_pools()
{
	sbx pool ls 2>/dev/null |
	    sed -n 's/^{"event":"pool","name":"\([^"]*\)".*/\1/p'
}

# The value of an option that takes one; returns 1 if prev takes none.
_sbx_optarg()
{
	case $prev in
	-P)
		COMPREPLY=($(compgen -W "$(_sbx_pools)" -- "$cur")) ;;
	-t)
		COMPREPLY=($(compgen -W "$(_sbx_templates)" -- "$cur")) ;;
	-r)
		COMPREPLY=($(compgen -W "auto podman docker" -- "$cur")) ;;
	-w)
		COMPREPLY=($(compgen -W "ro rw none" -- "$cur")) ;;
	-c)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	-d)
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	-e|-i|-m|-p|-T)
		;;
	-n)
		# the size of a pool; a run's -n takes no value
		[[ ${COMP_WORDS[1]} == pool ]] || return 1 ;;
	*)
		return 1 ;;
	esac
	return 0
}

# The words after the command at index start that are not options or
# their values: how many come before the current word.  $2: the command.
_sbx_nargs()
{
	local i n=0
	for ((i = $1 + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-[cdeimprTtw] | --input | --resume | --slurm-args) ((i++)) ;;
		-j | -P) [[ $2 == batch ]] && ((i++)) ;;	# batch's take one
		-*) ;;
		*) ((n++)) ;;
		esac
	done
	echo $n
}

_sbx_command()
{
	local cmd=$1 n
	if [[ $cur == -* ]]; then
		case $cmd in
		start)
			COMPREPLY=($(compgen -W "-c -D -d -e -i -m -n -p -r -T -t -w --repl" -- "$cur")) ;;
		exec)
			COMPREPLY=($(compgen -W "-c -e -T --human --json" -- "$cur")) ;;
		diff)
			COMPREPLY=($(compgen -W "-j" -- "$cur")) ;;
		apply)
			COMPREPLY=($(compgen -W "-n" -- "$cur")) ;;
		batch)
			COMPREPLY=($(compgen -W "-c -e -i -j -k -m -n -P -p -r -T -t -u -w --diff --input --resume --slurm --slurm-args" -- "$cur")) ;;
		esac
		return
	fi
	_sbx_optarg && return
	n=$(_sbx_nargs 1 "$cmd")
	case $cmd in
	exec)
		# id, then the script, then its arguments
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "$(_sbx_sessions)" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	stop)
		((n == 0)) &&
		    COMPREPLY=($(compgen -W "$(_sbx_sessions)" -- "$cur")) ;;
	batch)
		# the script, then the case directories
		if [[ $prev == --input || $prev == --resume ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		elif [[ $prev == -j || $prev == --slurm-args ]]; then
			:
		elif ((n == 0)); then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -d -- "$cur"))
		fi ;;
	diff|apply)
		# a session's id or a kept run's directory, then patterns
		((n == 0)) &&
		    COMPREPLY=($(compgen -W "$(_sbx_sessions)" -- "$cur")
		    $(compgen -d -- "$cur")) ;;
	esac
}

# sbx pool start NAME [options], sbx pool ls, sbx pool stop NAME
_sbx_pool()
{
	if ((COMP_CWORD == 2)); then
		COMPREPLY=($(compgen -W "start ls stop" -- "$cur"))
		return
	fi
	case ${COMP_WORDS[2]} in
	start)
		((COMP_CWORD == 3)) && return	# a new name
		_sbx_optarg && return
		[[ $cur == -* ]] &&
		    COMPREPLY=($(compgen -W "-c -D -e -i -m -n -p -r -T -t -w" -- "$cur")) ;;
	stop)
		((COMP_CWORD == 3)) &&
		    COMPREPLY=($(compgen -W "$(_sbx_pools)" -- "$cur")) ;;
	esac
}

_sbx()
{
	local cur prev i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	if ((COMP_CWORD > 1)); then
		case ${COMP_WORDS[1]} in
		start|exec|stop|ls|diff|apply|batch)
			_sbx_command "${COMP_WORDS[1]}"
			return ;;
		pool)
			_sbx_pool
			return ;;
		esac
	fi
	_sbx_optarg && return
	# After the script, the words are its own arguments.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-[cdeimPprTtw] | --block | --allow-host) ((i++)) ;;
		--) ((i++)); break ;;
		-*) ;;
		*) break ;;
		esac
	done
	if ((i < COMP_CWORD)); then
		COMPREPLY=($(compgen -f -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-c -D -d -e -h -i -k -L -l -m -n -P -p -r -T -t -u -V -w -x --all --allow-host --block --diff --human --json" -- "$cur"))
	elif ((COMP_CWORD == 1)); then
		# A command, or a script's name.
		COMPREPLY=($(compgen -W "start exec stop ls diff apply batch pool ps gc" -- "$cur")
		    $(compgen -f -- "$cur"))
	else
		COMPREPLY=($(compgen -W "gc" -- "$cur") $(compgen -f -- "$cur"))
	fi
}
complete -F _sbx sbx
