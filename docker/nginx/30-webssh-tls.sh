#!/bin/sh
# HTTPS when a certificate is mounted at /etc/nginx/certs/tls.crt (+ tls.key).
set -eu
if [ -f /etc/nginx/certs/tls.crt ] && [ -f /etc/nginx/certs/tls.key ]; then
  export HTTPS_PORT=443 TLS_CERT=/etc/nginx/certs/tls.crt TLS_KEY=/etc/nginx/certs/tls.key
  envsubst '${HTTPS_PORT} ${TLS_CERT} ${TLS_KEY} ${WEBSSH_NGINX_DIR}' \
    < /etc/nginx/webssh/webssh-tls.conf.template > /etc/nginx/conf.d/webssh-tls.conf
  echo "$0: HTTPS enabled on 443"
else
  echo "$0: no certificate in /etc/nginx/certs: HTTP only"
fi
