# vagrant/lab.rb - settings and provisioning shared by vagrant/Vagrantfile (one VM) and
# vagrant/multi/Vagrantfile (one VM per topology node). The settings are listed in vagrant/Vagrantfile.
require "digest"
require "json"
require "rbconfig"
require "tmpdir"

def env(name, default = nil)
  v = ENV[name]
  v.nil? || v.empty? ? default : v
end

REPO        = File.expand_path("..", __dir__)   # this file lives in vagrant/
HOST_OS     = case RbConfig::CONFIG["host_os"]
              when /darwin/ then :macos
              when /mswin|mingw|cygwin/ then :windows
              else :linux
              end
HOST_ARCH   = RbConfig::CONFIG["host_cpu"] =~ /arm64|aarch64/ ? "arm64" : "amd64"
ARCH        = env("ECLAT_ARCH", HOST_ARCH)
abort "ECLAT_ARCH=#{ARCH}: amd64 or arm64" unless %w[amd64 arm64].include?(ARCH)

# The offline lab boxes (vagrant/box/build.sh): eclat-lab-ARCH-VERSION-PROVIDER.box in
# ECLAT_BOX_DIR. When there are some for this architecture, they are the default box, through a
# catalog written next to them, so that `vagrant up` adds the right one by itself and
# ECLAT_BOX_VERSION can pick a version.
BOX_DIR     = File.expand_path(env("ECLAT_BOX_DIR", File.join(__dir__, "boxes")))
LOCAL_BOXES = Dir.glob(File.join(BOX_DIR, "eclat-lab-#{ARCH}-*.box")).filter_map do |f|
  m = /\Aeclat-lab-#{ARCH}-(\d+\.\d+\.\d+)-(libvirt|qemu|virtualbox)\.box\z/.match(File.basename(f))
  m && { path: f, version: m[1], provider: m[2] }
end

def file_url(path) # file:///abs/path, also for C:/... on Windows
  "file://" + (path.start_with?("/") ? "" : "/") + path
end

def box_catalog(boxes)
  versions = boxes.group_by { |b| b[:version] }.map do |version, bs|
    providers = bs.map do |b|
      p = { "name" => b[:provider], "url" => file_url(b[:path]) }
      sum = "#{b[:path]}.sha256"
      if File.file?(sum)
        p["checksum_type"] = "sha256"
        p["checksum"] = File.read(sum).split.first
      end
      p
    end
    { "version" => version, "providers" => providers }
  end
  doc = JSON.pretty_generate("name" => "eclat-lab/#{ARCH}", "versions" => versions)
  # next to the boxes, or in the temporary folder when that one is read-only (a USB stick)
  [BOX_DIR, Dir.tmpdir].each do |dir|
    path = File.join(dir, "eclat-lab-#{ARCH}.json")
    begin
      File.write(path, doc) unless File.file?(path) && File.read(path) == doc
      return path
    rescue SystemCallError
      next
    end
  end
  abort "cannot write the box catalog eclat-lab-#{ARCH}.json in #{BOX_DIR} or #{Dir.tmpdir}"
end

BOX         = env("ECLAT_BOX", LOCAL_BOXES.empty? ? "bento/ubuntu-24.04" : "eclat-lab/#{ARCH}")
BOX_URL     = BOX == "eclat-lab/#{ARCH}" && !LOCAL_BOXES.empty? ? box_catalog(LOCAL_BOXES) : nil
# a lab box (added from a catalog or by hand as eclat-lab/...) has everything inside
OFFLINE     = BOX.start_with?("eclat-lab/")
CPUS        = Integer(env("ECLAT_CPUS", "2"))
PREBUILT    = env("ECLAT_PREBUILT")
MEMORY      = Integer(env("ECLAT_MEMORY", PREBUILT || OFFLINE ? "1536" : "4096"))
# the lab boxes carry the repository: nothing to copy, so no rsync needed (Windows)
SYNC        = env("ECLAT_SYNC", OFFLINE ? "0" : "1") != "0"
GUEST_REPO  = "/home/vagrant/eclat-lab-src"   # ~/eclat-lab is the learner's workspace
RUST        = env("ECLAT_RUST", "1.95.0")
LV_DRIVER   = env("ECLAT_LIBVIRT_DRIVER", "kvm")
LV_CPU_MODE = env("ECLAT_LIBVIRT_CPU_MODE", LV_DRIVER == "qemu" ? "custom" : "host-passthrough")

# vagrant prefers the provider configured first among the usable ones: the host's usual one
# first, ECLAT_PROVIDER before all
DEFAULT_ORDER = if HOST_OS == :linux then [:libvirt, :virtualbox, :qemu]
                elsif HOST_ARCH == "arm64" then [:qemu, :virtualbox, :libvirt]  # Apple Silicon: vagrant-qemu
                else [:virtualbox, :qemu, :libvirt]                              # Intel Macs, Windows
                end
CHOSEN = env("ECLAT_PROVIDER")&.to_sym
abort "ECLAT_PROVIDER=#{CHOSEN}: libvirt, virtualbox or qemu" if CHOSEN && !DEFAULT_ORDER.include?(CHOSEN)
PROVIDERS = CHOSEN ? [CHOSEN] + (DEFAULT_ORDER - [CHOSEN]) : DEFAULT_ORDER
ENV["VAGRANT_DEFAULT_PROVIDER"] ||= CHOSEN.to_s if CHOSEN
RSYNC_EXCLUDE = ["target/", ".git/", ".vagrant/", "book/book/", "vagrant/boxes/"]

# checked only by the commands that install something, so that destroy and validate always work
INSTALLING = (ARGV & ["up", "provision", "reload"]).any?
if INSTALLING && PREBUILT && !File.file?(PREBUILT)
  abort "ECLAT_PREBUILT=#{PREBUILT}: no such file (build it with: cargo build --release -p eclat-lab)"
end
if INSTALLING && !SYNC && !PREBUILT && !OFFLINE
  abort "ECLAT_SYNC=0 leaves no sources in the VM to build from: also set ECLAT_PREBUILT=path/to/eclat-lab, or use a lab box (vagrant/box/build.sh)"
end

def configure_libvirt(config, name, domain_prefix = nil)
  config.vm.provider :libvirt do |lv|
    lv.default_prefix = domain_prefix if domain_prefix
    lv.uri = env("ECLAT_LIBVIRT_URI") if env("ECLAT_LIBVIRT_URI")
    lv.driver = LV_DRIVER
    lv.cpu_mode = LV_CPU_MODE
    if LV_CPU_MODE == "custom"
      lv.cpu_model = env("ECLAT_LIBVIRT_CPU_MODEL", ARCH == "arm64" ? "cortex-a72" : "qemu64")
    end
    lv.cpus = CPUS
    lv.memory = MEMORY
    lv.storage_pool_name = env("ECLAT_LIBVIRT_POOL") if env("ECLAT_LIBVIRT_POOL")
    lv.graphics_type = "none"
    lv.video_type = "none"
    if ARCH == "arm64"
      # the virt machine with UEFI firmware (the arm64 box boots EFI/BOOT/BOOTAA64.EFI)
      lv.machine_arch = "aarch64"
      lv.machine_type = "virt"
      lv.features = ["acpi"]
      lv.inputs = []
      loader = env("ECLAT_LIBVIRT_LOADER") ||
               ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
                "/usr/share/qemu/edk2-aarch64-code.fd"].find { |f| File.exist?(f) }
      lv.loader = loader if loader
      # a pflash loader needs a writable variable store: libvirt copies the firmware's
      # template there; one per VM and per checkout
      lv.nvram = env("ECLAT_LIBVIRT_NVRAM",
                     "/var/lib/libvirt/qemu/nvram/eclat-lab-#{name}-#{Digest::SHA256.hexdigest(REPO)[0, 8]}_VARS.fd")
    end
    if env("ECLAT_LIBVIRT_SERIAL")
      lv.serial type: "file", source: { path: env("ECLAT_LIBVIRT_SERIAL") }
    end
  end
end

def configure_virtualbox(config, name)
  config.vm.provider :virtualbox do |vb|
    vb.name = name
    vb.cpus = CPUS
    vb.memory = MEMORY
  end
end

# vagrant-qemu (a plugin: `vagrant plugin install vagrant-qemu`), the provider for Apple Silicon
def configure_qemu(config)
  config.vm.provider :qemu do |qe|
    qe.smp = CPUS
    qe.memory = "#{MEMORY}M"
    if ARCH == "arm64"
      qe.arch = "aarch64"
      qe.machine = HOST_ARCH == "arm64" && HOST_OS == :macos ? "virt,accel=hvf,highmem=on" : "virt"
      qe.cpu = HOST_ARCH == "arm64" && HOST_OS == :macos ? "host" : "max"
    else
      qe.arch = "x86_64"
      qe.machine = HOST_ARCH == "amd64" && HOST_OS == :macos ? "q35,accel=hvf" : "q35"
      # without hvf this is QEMU's emulation, where -cpu max hung a Debian guest before its
      # first message and qemu64 boots (tests/vagrant/qemu-box.sh)
      qe.cpu = HOST_ARCH == "amd64" && HOST_OS == :macos ? "host" : "qemu64"
    end
    qe.net_device = "virtio-net-pci"
    qe.qemu_dir = env("ECLAT_QEMU_DIR") if env("ECLAT_QEMU_DIR")
    qe.ssh_port = Integer(env("ECLAT_QEMU_SSH_PORT")) if env("ECLAT_QEMU_SSH_PORT")
  end
end

# What every machine of the Vagrantfiles gets: box, resources, the repository, eclat-lab.
# vm_prefix: the start of the provider's VM name (libvirt's domain, VirtualBox's VM), for
# Vagrantfiles whose machines must not be named after their folder (vagrant/classroom).
# (One provider block per machine: vagrant-libvirt 0.11 fails to merge two when one has a
# serial console.)
def configure_machine(config, name, vm_prefix: nil)
  config.vm.box = BOX
  config.vm.box_url = file_url(BOX_URL) if BOX_URL
  config.vm.box_version = env("ECLAT_BOX_VERSION") if env("ECLAT_BOX_VERSION")
  config.vm.box_check_update = false if OFFLINE
  config.vm.hostname = name
  config.vm.boot_timeout = Integer(env("ECLAT_BOOT_TIMEOUT", "900"))

  # The repository, not the Vagrantfile's folder. Copied with rsync by default, on every provider:
  # a shared folder would let the VM's build write into the host's target/ (setup.sh builds in
  # the repository), and libvirt has no shared-folder type that works on every host.
  # `vagrant rsync` copies host edits again. The lab boxes carry the repository instead.
  config.vm.synced_folder ".", "/vagrant", disabled: true
  if SYNC
    config.vm.synced_folder REPO, GUEST_REPO, type: env("ECLAT_SYNC_TYPE", "rsync"), rsync__exclude: RSYNC_EXCLUDE
  end

  PROVIDERS.each do |provider|
    case provider
    when :libvirt then configure_libvirt(config, name, vm_prefix)
    when :virtualbox then configure_virtualbox(config, "#{vm_prefix}#{name}")
    when :qemu then configure_qemu(config)
    end
  end

  # packages (only the missing ones), bpffs, eclat-lab
  provision_setup(config)
end

# Install eclat-lab through setup.sh, the script the README's commands use; a lab box has it
# all already, and only says so (with doctor's verdict).
def provision_setup(config)
  if PREBUILT && File.file?(PREBUILT)
    # the synced repository's setup.sh (a lab box has its own copy), or the file uploaded
    setup = SYNC || OFFLINE ? "#{GUEST_REPO}/setup.sh" : "/tmp/eclat-lab-setup/setup.sh"
    config.vm.provision "file", source: File.join(REPO, "setup.sh"), destination: setup unless SYNC || OFFLINE
    config.vm.provision "file", source: PREBUILT, destination: "/tmp/eclat-lab-setup/eclat-lab"
    config.vm.provision "setup", type: "shell", inline: <<~SH
      set -e
      bash #{setup} --prebuilt /tmp/eclat-lab-setup/eclat-lab
      rm -rf /tmp/eclat-lab-setup
    SH
  elsif OFFLINE
    config.vm.provision "lab", type: "shell", inline: <<~SH
      sed 's/^/  box: /' /etc/eclat-lab-box 2>/dev/null || true
      eclat-lab doctor || echo "doctor found problems: each line above says how to fix it"
    SH
  else
    # Rust for the vagrant user (distribution packages are older than the edition-2024 toolchain),
    # then setup.sh as root building as that user, as `sudo ./setup.sh` does on a laptop
    config.vm.provision "setup", type: "shell", inline: <<~SH
      set -e
      command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates; }
      if [ ! -x /home/vagrant/.cargo/bin/cargo ]; then
        sudo -u vagrant -H sh -c 'curl -sSf https://sh.rustup.rs | sh -s -- -y -q --profile minimal --default-toolchain #{RUST}'
      fi
      cd #{GUEST_REPO}
      env -u CARGO_HOME SUDO_USER=vagrant PATH=/usr/sbin:/usr/bin:/sbin:/bin ./setup.sh
    SH
  end
end

# `vagrant validate` doubles as the attendee's pre-session check (vagrant/preflight.rb)
if ARGV.first == "validate" && env("ECLAT_PREFLIGHT", "1") != "0" && !$eclat_preflight_done
  $eclat_preflight_done = true
  require_relative "preflight"
  EclatPreflight.run
end
