# vagrant/lab.rb - settings and provisioning shared by vagrant/Vagrantfile (one VM) and
# vagrant/multi/Vagrantfile (one VM per topology node). The settings are listed in vagrant/Vagrantfile.

def env(name, default = nil)
  v = ENV[name]
  v.nil? || v.empty? ? default : v
end

REPO        = File.expand_path("..", __dir__)   # this file lives in vagrant/
BOX         = env("ECLAT_BOX", "bento/ubuntu-24.04")
CPUS        = Integer(env("ECLAT_CPUS", "2"))
PREBUILT    = env("ECLAT_PREBUILT")
MEMORY      = Integer(env("ECLAT_MEMORY", PREBUILT ? "1536" : "4096"))
SYNC        = env("ECLAT_SYNC", "1") != "0"
GUEST_REPO  = "/home/vagrant/eclat-lab"
RUST        = env("ECLAT_RUST", "1.95.0")
LV_DRIVER   = env("ECLAT_LIBVIRT_DRIVER", "kvm")
LV_CPU_MODE = env("ECLAT_LIBVIRT_CPU_MODE", LV_DRIVER == "qemu" ? "custom" : "host-passthrough")

# vagrant prefers the provider configured first among the usable ones
PROVIDERS = env("ECLAT_PROVIDER") == "virtualbox" ? [:virtualbox, :libvirt] : [:libvirt, :virtualbox]
ENV["VAGRANT_DEFAULT_PROVIDER"] ||= env("ECLAT_PROVIDER") if env("ECLAT_PROVIDER")
RSYNC_EXCLUDE = ["target/", ".git/", ".vagrant/", "book/book/"]

# checked only by the commands that install something, so that destroy and validate always work
INSTALLING = (ARGV & ["up", "provision", "reload"]).any?
if INSTALLING && PREBUILT && !File.file?(PREBUILT)
  abort "ECLAT_PREBUILT=#{PREBUILT}: no such file (build it with: cargo build --release -p eclat-lab)"
end
if INSTALLING && !SYNC && !PREBUILT
  abort "ECLAT_SYNC=0 leaves no sources in the VM to build from: also set ECLAT_PREBUILT=path/to/eclat-lab"
end

def configure_libvirt(config)
  config.vm.provider :libvirt do |lv|
    lv.uri = env("ECLAT_LIBVIRT_URI") if env("ECLAT_LIBVIRT_URI")
    lv.driver = LV_DRIVER
    lv.cpu_mode = LV_CPU_MODE
    lv.cpu_model = env("ECLAT_LIBVIRT_CPU_MODEL", "qemu64") if LV_CPU_MODE == "custom"
    lv.cpus = CPUS
    lv.memory = MEMORY
    lv.storage_pool_name = env("ECLAT_LIBVIRT_POOL") if env("ECLAT_LIBVIRT_POOL")
    lv.graphics_type = "none"
    lv.video_type = "none"
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

# What every machine of both Vagrantfiles gets: box, resources, the repository, eclat-lab.
def configure_machine(config, name)
  config.vm.box = BOX
  config.vm.box_version = env("ECLAT_BOX_VERSION") if env("ECLAT_BOX_VERSION")
  config.vm.hostname = name
  config.vm.boot_timeout = Integer(env("ECLAT_BOOT_TIMEOUT", "600"))

  # The repository, not the Vagrantfile's folder. Copied with rsync by default, on every provider:
  # a shared folder would let the VM's build write into the host's target/ (setup.sh builds in
  # the repository), and libvirt has no shared-folder type that works on every host.
  # `vagrant rsync` copies host edits again.
  config.vm.synced_folder ".", "/vagrant", disabled: true
  if SYNC
    config.vm.synced_folder REPO, GUEST_REPO, type: env("ECLAT_SYNC_TYPE", "rsync"), rsync__exclude: RSYNC_EXCLUDE
  end

  PROVIDERS.each do |provider|
    case provider
    when :libvirt then configure_libvirt(config)
    when :virtualbox then configure_virtualbox(config, name)
    end
  end

  # packages (only the missing ones), bpffs, eclat-lab
  provision_setup(config)
end

# Install eclat-lab through setup.sh, the script the README's commands use.
def provision_setup(config)
  if PREBUILT && File.file?(PREBUILT)
    # the synced repository's setup.sh, or the same file uploaded when nothing is synced
    setup = SYNC ? "#{GUEST_REPO}/setup.sh" : "/tmp/eclat-lab-setup/setup.sh"
    config.vm.provision "file", source: File.join(REPO, "setup.sh"), destination: setup unless SYNC
    config.vm.provision "file", source: PREBUILT, destination: "/tmp/eclat-lab-setup/eclat-lab"
    config.vm.provision "setup", type: "shell", inline: <<~SH
      set -e
      bash #{setup} --prebuilt /tmp/eclat-lab-setup/eclat-lab
      rm -rf /tmp/eclat-lab-setup
    SH
  elsif !PREBUILT
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
