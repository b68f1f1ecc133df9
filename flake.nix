{
  description = "cagefs: run AI coding agents on your real projects without handing them the machine";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: rec {
        cagefs = pkgs.callPackage ./nix/package.nix { };
        default = cagefs;
      });
      checks = forAll (pkgs: { cagefs = pkgs.callPackage ./nix/package.nix { }; });
    };
}
