#!/usr/bin/env bash
# Writes an enterprise-scale topology of HOSTS hosts (default 10000) on several networks, with
# templates and counts, to standard output.
set -euo pipefail
hosts=${1:-10000}
cat <<YAML
name: bench
description: Generated benchmark topology of $hosts hosts
domain: bench.example
templates: [bench-templates.yaml]

images:
  win10: { disk: /var/lib/decoynet/images/windows-10.qcow2 }
  debian: { disk: /var/lib/decoynet/images/debian-server.qcow2 }

networks:
  dmz:     { cidr: 172.16.0.0/24, gateway: fw }
  servers: { cidr: 10.20.0.0/20, gateway: fw }
  office1: { cidr: 10.64.0.0/18, gateway: fw }
  office2: { cidr: 10.65.0.0/18, gateway: fw, egress: nat }
  office3: { cidr: 10.66.0.0/18, gateway: fw, egress: routed }
  mgmt:    { cidr: 10.99.0.0/20, gateway: fw, dhcp: false }

defaults:
  memory: 1GiB

hosts:
  fw:
    template: bench-router
    interfaces:
      - { network: dmz, address: 172.16.0.254 }
      - { network: servers, address: 10.20.15.254 }
      - { network: office1, address: 10.64.63.254 }
      - { network: office2, address: 10.65.63.254 }
      - { network: office3, address: 10.66.63.254 }
      - { network: mgmt, address: 10.99.15.254 }
  web:
    template: bench-server
    count: 20
    interfaces: [{ network: dmz }]
YAML
remaining=$((hosts - 1 - 20 - 10))
servers=$((remaining / 10))
per_office=$(((remaining - servers) / 3))
last_office=$((remaining - servers - 2 * per_office))
cat <<YAML
  srv:
    template: bench-server
    count: $servers
    interfaces: [{ network: servers }, { network: mgmt }]
  pc-a:
    template: bench-workstation
    count: $per_office
    interfaces: [{ network: office1 }]
  pc-b:
    template: bench-workstation
    count: $per_office
    interfaces: [{ network: office2, model: e1000e }]
  pc-c:
    template: bench-workstation
    count: $last_office
    interfaces: [{ network: office3 }]
YAML
for i in $(seq 1 10); do
    printf '  admin%02d:\n    template: bench-workstation\n    interfaces: [{ network: mgmt, address: 10.99.0.%d }]\n' "$i" "$((100 + i))"
done
