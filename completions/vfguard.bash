# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for vfguard(8): its commands, each command's options (as
# its --help lists them: tools/cli.h and tools/cmd_*.c), and the values the
# host itself can tell: domain names from `vfguard status --json`, PCI
# functions from sysfs, files and folders. Self-contained (COMP_WORDS,
# COMP_CWORD, compgen), so it works with or without bash-completion's
# helpers; completions/test-completion.sh checks it against the CLI.

_vfguard_commands='plan apply audit revoke restore status detach reattach exec fds qemu-args hotplug hotunplug config help'

# Every command takes these (CLI_COMMON_OPTIONS).
_vfguard_common_options='--root --config --plugin-dir --json --set --selinux --help'
# The commands that describe a domain take these (CLI_DOMAIN_OPTIONS).
_vfguard_domain_options='--domain --uuid --uid --gid --selinux-label --selinux-image-label
	--apparmor-profile --cgroup --pid --hostdev --memory --viommu --ipc-lock --attr'

# _vfguard_options COMMAND: the options COMMAND accepts.
_vfguard_options() {
	local own
	case $1 in
	plan) own="$_vfguard_domain_options --wide" ;;
	apply) own="$_vfguard_domain_options --dry-run --wide" ;;
	audit) own="$_vfguard_domain_options --policy --format" ;;
	revoke) own='--domain --hostdev --forget' ;;
	status) own='--domain' ;;
	restore) own='--all --boot' ;;
	detach) own='--driver' ;;
	reattach | config) own='' ;;
	exec) own="$_vfguard_domain_options --fd-base --rlimit-mode" ;;
	fds) own="$_vfguard_domain_options --rlimit-mode --socket --timeout" ;;
	qemu-args) own="$_vfguard_domain_options --fd-base" ;;
	hotplug) own="$_vfguard_domain_options --qmp --bus --rlimit-mode" ;;
	hotunplug) own='--qmp --domain --hostdev --timeout' ;;
	*) return 1 ;;
	esac
	echo "$own $_vfguard_common_options"
}

# The --root, --config and --plugin-dir the command line gives (as --opt VALUE
# or --opt=VALUE), so that what is listed comes from the host it names: each
# option and its value on lines of their own, as arguments for vfguard.
_vfguard_host_options() {
	local i word
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		((i == COMP_CWORD)) && continue
		word=${COMP_WORDS[i]}
		case $word in
		--root | --config | --plugin-dir)
			# bash splits "--root=DIR" at "=" (COMP_WORDBREAKS): skip the "=".
			[[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
			((i + 1 < ${#COMP_WORDS[@]} && i + 1 != COMP_CWORD)) && printf '%s\n%s\n' "$word" "${COMP_WORDS[i + 1]}"
			;;
		esac
	done
}

# The domains vfguard's journal holds on this host (or under --root): the
# "name" of each object in "domains" (docs/plan-json.md), read from the JSON
# as vfguard prints it, one key a line, a domain's keys six spaces in.
_vfguard_domains() {
	local -a host_options
	mapfile -t host_options < <(_vfguard_host_options)
	"${COMP_WORDS[0]}" status --json "${host_options[@]}" 2>/dev/null |
		sed -n 's/^      "name": "\(.*\)",\{0,1\}$/\1/p'
}

# The domain names that start with CURRENT, each as one shell word: a name
# may hold spaces ("Windows 11" is offered as Windows\ 11).
_vfguard_domain_values() {
	local name quoted
	while IFS= read -r name; do
		printf -v quoted '%q' "$name"
		if [[ $name == "$1"* || $quoted == "$1"* ]]; then
			echo "$quoted"
		fi
	done < <(_vfguard_domains)
}

# The root the command line names (--root, else $VFGUARD_ROOT), for sysfs.
_vfguard_root() {
	local -a host_options
	local i
	mapfile -t host_options < <(_vfguard_host_options)
	for ((i = 0; i < ${#host_options[@]}; i += 2)); do
		[[ ${host_options[i]} == --root ]] && {
			echo "${host_options[i + 1]}"
			return
		}
	done
	echo "${VFGUARD_ROOT:-}"
}

# The PCI functions of the host, as DDDD:BB:DD.F.
_vfguard_pci_functions() {
	local root function
	root=$(_vfguard_root)
	for function in "$root"/sys/bus/pci/devices/*; do
		[[ -e $function ]] && echo "${function##*/}"
	done
}

# _vfguard_hostdev CURRENT: a hostdev spec, BDF[,key=value...] (CLI_DOMAIN_HELP).
_vfguard_hostdev() {
	local cur=$1 head
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		compgen -P "$head" -W 'backend=legacy backend=iommufd access=path access=fd vf-token= managed=yes driver=' \
			-- "${cur##*,}"
	else
		compgen -W "$(_vfguard_pci_functions)" -- "$cur"
	fi
}

# The options that take a value (the word after them is that value).
_vfguard_value_options=' --root --config --plugin-dir --set --selinux --domain --uuid --uid --gid --selinux-label
	--selinux-image-label --apparmor-profile --cgroup --pid --hostdev --memory --attr --policy --driver --fd-base
	--rlimit-mode --socket --timeout --format --qmp --bus --forget '

# _vfguard_values OPTION CURRENT: candidates for OPTION's value (none for free text).
_vfguard_values() {
	local option=$1 cur=$2
	case $option in
	--root | --plugin-dir | --cgroup) compgen -d -- "$cur" ;;
	--config | --policy | --socket | --qmp) compgen -f -- "$cur" ;;
	--selinux) compgen -W 'auto force off' -- "$cur" ;;
	--rlimit-mode) compgen -W 'required warn off' -- "$cur" ;;
	--format) compgen -W 'text json prometheus' -- "$cur" ;;
	--domain) _vfguard_domain_values "$cur" ;;
	--hostdev) _vfguard_hostdev "$cur" ;;
	--driver) compgen -W 'vfio-pci' -- "$cur" ;;
	esac
}

_vfguard() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' command='' i
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--opt=VAL" arrives as "--opt" "=" "VAL" (COMP_WORDBREAKS has "=").
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]} cur=''
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	# The command is always the first word (tools/vfguard.c: argv[1]).
	((COMP_CWORD > 1)) && command=${COMP_WORDS[1]}
	COMPREPLY=()

	if [[ -z $command ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_vfguard_commands --help --version" -- "$cur")
		return 0
	fi
	if [[ $command == help ]]; then
		((COMP_CWORD == 2)) && mapfile -t COMPREPLY < <(compgen -W "${_vfguard_commands% help}" -- "$cur")
		return 0
	fi
	# exec: after "--", the command it runs and that command's own words.
	if [[ $command == exec ]]; then
		for ((i = 1; i < COMP_CWORD; i++)); do
			if [[ ${COMP_WORDS[i]} == -- ]]; then
				if declare -F _command_offset >/dev/null; then
					_command_offset $((i + 1))
				else
					mapfile -t COMPREPLY < <(compgen -c -- "$cur")
				fi
				return 0
			fi
		done
	fi
	if [[ $_vfguard_value_options == *[[:space:]]"${prev}"[[:space:]]* ]]; then
		# Paths: let readline quote them and add "/" to folders.
		[[ $prev =~ ^--(root|plugin-dir|cgroup|config|policy|socket|qmp)$ ]] && compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(_vfguard_values "$prev" "$cur")
		return 0
	fi
	if [[ $cur == -* || ! $command =~ ^(detach|reattach)$ ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_vfguard_options "$command")" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$(_vfguard_pci_functions)" -- "$cur")
	fi
	return 0
}

complete -F _vfguard vfguard
