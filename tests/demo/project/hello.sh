#!/bin/sh
# Run inside the cage: who am I, where am I, what can I see?
echo "hello from $(id -un) (uid $(id -u)) in $(pwd)"
echo "tools on PATH=$PATH: $(ls /bin | wc -l)"
echo "store paths visible: $(ls /nix/store | wc -l)"
