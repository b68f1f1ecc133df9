# nix/default.nix - `nix-build nix/` builds cagefs with the nixpkgs on
# NIX_PATH (or the one passed as `pkgs`).
{ pkgs ? import <nixpkgs> { } }:

pkgs.callPackage ./package.nix { }
