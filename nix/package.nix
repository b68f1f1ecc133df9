# nix/package.nix - build and install cagefs (callPackage style):
#   pkgs.callPackage ./nix/package.nix { }
# `make` builds bin/cagefs and bin/cage; `make install PREFIX=$out` puts
# them, their man pages, bash completion and cage's AppArmor profile
# ($out/etc/apparmor.d/cage) under $out.  At run time cagefs
# calls `nix-store` and, for an ordinary user, the setuid `fusermount3` from
# the host (PATH), which a package cannot provide.
{ lib
, stdenv
, pkg-config
, fuse3
, libseccomp
, jansson
, liburing
, libcap
, openssl
}:

stdenv.mkDerivation {
  pname = "cagefs";
  version = "0.1.0";

  # The checkout without build outputs (build/, bin/).
  src = lib.cleanSourceWith {
    src = lib.cleanSource ./..;
    filter = path: type:
      !(type == "directory" && builtins.elem (baseNameOf path) [ "build" "bin" ]);
  };

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ fuse3 libseccomp jansson liburing libcap openssl ];

  buildPhase = ''
    runHook preBuild
    make -j$NIX_BUILD_CORES
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    # cage's AppArmor profile too, naming $out/bin/cage (for NixOS:
    # security.apparmor.policies, or a host's /etc/apparmor.d)
    make install PREFIX=$out APPARMOR=yes APPARMORDIR=$out/etc/apparmor.d
    runHook postInstall
  '';

  # The tests need FUSE, namespaces and a Nix store: not in a build sandbox.
  doCheck = false;

  meta = {
    description = "A FUSE view and a namespace launcher to run AI coding agents on real projects";
    platforms = lib.platforms.linux;
    mainProgram = "cagefs";
  };
}
