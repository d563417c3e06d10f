#!/usr/bin/env bash
# Starts (or stops) the real third-party servers the interop tests and the
# transport benchmark use, on 127.0.0.1 only, each with its own config:
#   - OpenSSH sshd, SFTP (internal-sftp) on $DMC_SSH_PORT (default 2222),
#   - vsftpd with passive mode disabled (active only), on $DMC_FTP_PORT (default 2121),
#   - Dovecot IMAP (plain login, loopback only) on $DMC_IMAP_PORT (default 1143).
# Both serve one local account whose home holds DMC_12345678/{in,out,...}.
# Writes $DMC_INTEROP_DIR/env.json (ports, user, password, host key
# fingerprint, client key) for the tests. Needs root and the Debian packages
# openssh-server and vsftpd (.ci/run installs them).
#
#   scripts/interop-servers.sh start | stop | status
set -euo pipefail

DIR=${DMC_INTEROP_DIR:-/tmp/dmc-interop}
SSH_PORT=${DMC_SSH_PORT:-2222}
FTP_PORT=${DMC_FTP_PORT:-2121}
IMAP_PORT=${DMC_IMAP_PORT:-1143}
USER_NAME=${DMC_INTEROP_USER:-dmcinterop}
SERVICE=12345678

stop() {
  if [ -f "$DIR/dovecot/dovecot.conf" ]; then doveadm -c "$DIR/dovecot/dovecot.conf" stop 2>/dev/null || true; fi
  for p in sshd vsftpd; do
    if [ -f "$DIR/$p.pid" ]; then kill "$(cat "$DIR/$p.pid")" 2>/dev/null || true; rm -f "$DIR/$p.pid"; fi
  done
  # Without servers there is no environment: the interop tests skip (or fail under CI) instead of timing out.
  rm -f "$DIR/env.json"
}

start() {
  [ "$(id -u)" = 0 ] || { echo "interop-servers: needs root (it creates a local account and runs sshd/vsftpd)" >&2; exit 1; }
  command -v /usr/sbin/sshd >/dev/null || { echo "interop-servers: /usr/sbin/sshd missing: apt-get install openssh-server" >&2; exit 1; }
  command -v /usr/sbin/vsftpd >/dev/null || { echo "interop-servers: /usr/sbin/vsftpd missing: apt-get install vsftpd" >&2; exit 1; }
  command -v /usr/sbin/dovecot >/dev/null || { echo "interop-servers: /usr/sbin/dovecot missing: apt-get install dovecot-imapd" >&2; exit 1; }
  stop
  mkdir -p "$DIR" /run/sshd /var/run/vsftpd/empty
  local home="$DIR/home"
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --home-dir "$home" --shell /bin/bash --no-create-home "$USER_NAME"
  fi
  usermod --home "$home" "$USER_NAME"
  echo "$USER_NAME:$password" | chpasswd
  # vsftpd and sshd want a home that is not group/world-writable, owned by root or the user.
  mkdir -p "$home"
  for d in in in/processing in/processed in/failed out out/ack; do mkdir -p "$home/DMC_$SERVICE/$d"; done
  chown -R "$USER_NAME:$USER_NAME" "$home"
  chmod 755 "$home"

  # sshd: own host key, config and port.
  [ -f "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
  [ -f "$DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/client_key"
  mkdir -p "$home/.ssh"
  cp "$DIR/client_key.pub" "$home/.ssh/authorized_keys"
  chown -R "$USER_NAME:$USER_NAME" "$home/.ssh"
  chmod 700 "$home/.ssh"; chmod 600 "$home/.ssh/authorized_keys"
  cat > "$DIR/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $DIR/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
PermitRootLogin no
AllowUsers $USER_NAME
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"

  # vsftpd: active mode only (pasv_enable=NO), PORT only to the control peer (port_promiscuous=NO).
  cat > "$DIR/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pasv_enable=NO
port_enable=YES
port_promiscuous=NO
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
chroot_local_user=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
userlist_enable=NO
xferlog_enable=NO
vsftpd_log_file=$DIR/vsftpd.log
EOF
  /usr/sbin/vsftpd "$DIR/vsftpd.conf" > "$DIR/vsftpd.out" 2>&1 &
  echo $! > "$DIR/vsftpd.pid"

  # Dovecot: one mailbox (passwd-file), maildir owned by the account, plaintext login on loopback only.
  local dv="$DIR/dovecot"
  mkdir -p "$dv/run" "$dv/state" "$dv/mail"
  chown "$USER_NAME:$USER_NAME" "$dv/mail"
  local imap_user="ops@client1.fr"
  echo "$imap_user:{PLAIN}$password" > "$dv/users"
  chmod 644 "$dv/users"
  cat > "$dv/dovecot.conf" <<DOVECOT
protocols = imap
listen = 127.0.0.1
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dv/mail/%u
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dv/users
}
userdb {
  driver = static
  args = uid=$USER_NAME gid=$USER_NAME home=$dv/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
DOVECOT
  /usr/sbin/dovecot -c "$dv/dovecot.conf"

  # Wait until all three answer (bounded).
  for _ in $(seq 1 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$SSH_PORT") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$FTP_PORT") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$IMAP_PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  local fp
  fp=$(ssh-keygen -lf "$DIR/ssh_host_ed25519_key.pub" | awk '{print $2}')
  cat > "$DIR/env.json" <<EOF
{"host":"127.0.0.1","sshPort":$SSH_PORT,"ftpPort":$FTP_PORT,"imapPort":$IMAP_PORT,"imapUser":"$imap_user","user":"$USER_NAME","password":"$password","hostKey":"$fp","clientKey":"$DIR/client_key","home":"$home","serviceId":"$SERVICE"}
EOF
  chmod 600 "$DIR/env.json"
  echo "interop servers: sshd (SFTP) on 127.0.0.1:$SSH_PORT, vsftpd (active only) on 127.0.0.1:$FTP_PORT, Dovecot IMAP on 127.0.0.1:$IMAP_PORT; $DIR/env.json"
}

status() {
  for p in sshd vsftpd; do
    if [ -f "$DIR/$p.pid" ] && kill -0 "$(cat "$DIR/$p.pid")" 2>/dev/null; then echo "$p: running"; else echo "$p: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
