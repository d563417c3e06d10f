#!/usr/bin/env bash
# `npm start`: the main job that exists today. Builds a trigger file from a
# sample SI export into ./var/out, validates it, and converts it to XML.
# (The daemon and the platform simulator, issues #5 and #4, will take over
# this command when they exist.)
set -euo pipefail
cd "$(dirname "$0")/.."
cli="node dist/cli/main.js"
mkdir -p var/out
set -x
$cli build --command templates/sms-dynamic.yaml --contacts samples/exports/crm-semicolon.csv --map INFO1=Colis --out var/out/sms-dynamic.csv
$cli validate --documents samples/documents var/out/sms-dynamic.csv
$cli convert var/out/sms-dynamic.csv --to xml --out var/out/sms-dynamic.xml
