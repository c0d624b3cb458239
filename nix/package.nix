# purefs itself, built with nixpkgs' buildGoModule: a static binary
# (CGO_ENABLED=0) with no run-time dependencies.
#
# go.mod asks for Go 1.26; with a nixpkgs whose default Go is older, pass a
# newer builder, e.g. `callPackage ./package.nix { buildGoModule = buildGo126Module; }`.
{ lib, buildGoModule }:

buildGoModule {
  pname = "purefs";
  version = "0.1.0";

  src = lib.cleanSourceWith {
    src = ../.;
    # Nix files and benchmarks are no part of the binary; leaving them out
    # keeps the build from rerunning when only they change.
    filter = path: type:
      lib.cleanSourceFilter path type
      && !(builtins.elem path (map toString [ ../nix ../bench ../default.nix ]));
  };

  # The hash of `go mod vendor`'s output for go.mod and go.sum. When they
  # change, set lib.fakeHash here and take the hash from the build's error
  # message, or compute it outside Nix:
  #   git archive HEAD | tar -x -C "$t" && (cd "$t" && go mod vendor) &&
  #   nix hash path "$t/vendor"
  vendorHash = "sha256-ERmpo3tvq2IMY6Ueh+dtGpHpIyzmVR7HdMsg8lqWo94=";

  subPackages = [ "cmd/purefs" ];

  env.CGO_ENABLED = 0;
  ldflags = [ "-s" "-w" ];

  # The tests need the oracle tools (e2fsprogs, dosfstools, gdisk, qemu) and
  # run in the repository's CI instead.
  doCheck = false;

  meta = {
    description = "Rootless, deterministic disk-image builder compatible with make-disk-image.nix";
    homepage = "https://github.com/purefs/purefs";
    mainProgram = "purefs";
    platforms = lib.platforms.linux;
  };
}
