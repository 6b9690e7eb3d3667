# vagrant/preflight.rb - the attendee's pre-session check, run on the host by
#   cd vagrant && vagrant validate
# (the same command on Linux, macOS and Windows: it runs in Vagrant's own Ruby). Offline: it looks
# only at this machine. One line per requirement, each that fails says what to do; the last line
# says whether `vagrant up` can bring the lab up without a network. ECLAT_PREFLIGHT=0 silences it.
require "digest"

module EclatPreflight
  Result = Struct.new(:level, :what, :detail)

  def self.which(cmd)
    exts = HOST_OS == :windows ? ["", ".exe", ".bat", ".cmd"] : [""]
    dirs = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR)
    dirs += ["C:/Program Files/Oracle/VirtualBox"] if HOST_OS == :windows
    dirs += ["/opt/homebrew/bin", "/usr/local/bin"] if HOST_OS == :macos
    dirs.each do |d|
      exts.each do |e|
        f = File.join(d, cmd + e)
        return f if File.file?(f) && File.executable?(f)
      end
    end
    nil
  end

  def self.plugin?(name)
    Vagrant.has_plugin?(name)
  rescue StandardError
    false
  end

  def self.mib_free(dir)
    out = HOST_OS == :windows ? nil : `df -Pk "#{dir}" 2>/dev/null`.lines.last
    out && Integer(out.split[3]) / 1024
  rescue StandardError
    nil
  end

  def self.mib_memory
    case HOST_OS
    when :linux then File.read("/proc/meminfo")[/MemTotal:\s+(\d+)/, 1].to_i / 1024
    when :macos then `sysctl -n hw.memsize 2>/dev/null`.to_i / 1024 / 1024
    end
  rescue StandardError
    nil
  end

  # the lab box a `vagrant up` here would use: installed already, or a file in ECLAT_BOX_DIR
  def self.box_checks(r)
    home = ENV["VAGRANT_HOME"] || File.join(Dir.home, ".vagrant.d")
    installed = Dir.glob(File.join(home, "boxes", "eclat-lab-VAGRANTSLASH-#{ARCH}", "*", "*")).map do |d|
      "#{File.basename(File.dirname(d))}/#{File.basename(d)}"
    end
    if !OFFLINE
      r << Result.new(:warn, "box", "#{BOX} is not a lab box: `vagrant up` downloads it and builds the lab in the VM " \
                                    "(network needed). Put the lab box files (eclat-lab-#{ARCH}-*.box) in #{BOX_DIR}")
      return
    end
    unless installed.empty?
      r << Result.new(:ok, "box", "eclat-lab/#{ARCH} installed (#{installed.join(', ')})")
    end
    if LOCAL_BOXES.empty?
      if installed.empty?
        r << Result.new(:miss, "box", "no eclat-lab-#{ARCH}-VERSION-PROVIDER.box in #{BOX_DIR}, and none added: copy the " \
                                      "box for your provider there (from the instructor's USB stick or web page)")
      end
      return
    end
    LOCAL_BOXES.sort_by { |b| b[:version].split(".").map(&:to_i) }.reverse.uniq { |b| b[:provider] }.each do |b|
      sum = "#{b[:path]}.sha256"
      mib = File.size(b[:path]) / 1024 / 1024
      if !File.file?(sum)
        r << Result.new(:warn, "box file", "#{File.basename(b[:path])} (#{mib} MiB) has no .sha256 beside it: its copy cannot be checked")
      elsif Digest::SHA256.file(b[:path]).hexdigest == File.read(sum).split.first
        r << Result.new(:ok, "box file", "#{File.basename(b[:path])} (#{mib} MiB), checksum verified")
      else
        r << Result.new(:miss, "box file", "#{File.basename(b[:path])} is damaged (checksum differs): copy it again")
      end
    end
  end

  def self.provider_checks(r)
    usable = []
    qemu_bin = ARCH == "arm64" ? "qemu-system-aarch64" : "qemu-system-x86_64"
    have = OFFLINE ? LOCAL_BOXES.map { |b| b[:provider].to_sym }.uniq : [:libvirt, :virtualbox, :qemu]
    PROVIDERS.each do |p|
      problems = []
      case p
      when :libvirt
        next unless HOST_OS == :linux
        problems << "the vagrant-libvirt plugin (Debian/Ubuntu: apt-get install vagrant-libvirt)" unless plugin?("vagrant-libvirt")
        problems << "virsh (apt-get install libvirt-clients libvirt-daemon-system)" unless which("virsh")
        problems << "#{qemu_bin} (apt-get install #{ARCH == 'arm64' ? 'qemu-system-arm qemu-efi-aarch64' : 'qemu-system-x86'})" unless which(qemu_bin)
        if LV_DRIVER == "kvm" && ARCH == HOST_ARCH && !(File.readable?("/dev/kvm") && File.writable?("/dev/kvm"))
          r << Result.new(:warn, "kvm", "/dev/kvm is missing or not usable by #{ENV['USER']}: the VM needs ECLAT_LIBVIRT_DRIVER=qemu " \
                                        "(software emulation, about 10 times slower) or your user in the kvm and libvirt groups")
        end
      when :virtualbox
        next if ARCH == "arm64"
        problems << "VirtualBox (VBoxManage on PATH)" unless which("VBoxManage")
      when :qemu
        problems << "the vagrant-qemu plugin (vagrant plugin install vagrant-qemu, while online)" unless plugin?("vagrant-qemu")
        problems << "#{qemu_bin} (macOS: brew install qemu)" unless which(qemu_bin)
        if ARCH == "arm64"
          dir = env("ECLAT_QEMU_DIR", "/opt/homebrew/share/qemu")
          problems << "UEFI firmware #{dir}/edk2-aarch64-code.fd (set ECLAT_QEMU_DIR to QEMU's share folder)" unless File.file?(File.join(dir, "edk2-aarch64-code.fd"))
        end
      end
      if !have.include?(p)
        r << Result.new(:info, "provider", "#{p}: no lab box for it in #{BOX_DIR}") if problems.empty?
      elsif problems.empty?
        usable << p
        r << Result.new(:ok, "provider", p.to_s)
      else
        r << Result.new(:info, "provider", "#{p} not usable: missing #{problems.join('; ')}")
      end
    end
    if usable.empty?
      r << Result.new(:miss, "provider", "no provider can run the #{ARCH} lab box here: install one of those listed above")
    elsif CHOSEN && !usable.include?(CHOSEN)
      r << Result.new(:miss, "provider", "ECLAT_PROVIDER=#{CHOSEN} is not usable here (usable: #{usable.join(', ')})")
    else
      r << Result.new(:ok, "vagrant up", "will use #{CHOSEN || usable.first}")
    end
  end

  def self.run
    r = []
    v = Gem::Version.new(Vagrant::VERSION)
    r << (v >= Gem::Version.new("2.2.19") ? Result.new(:ok, "vagrant", Vagrant::VERSION) :
                                              Result.new(:miss, "vagrant", "#{Vagrant::VERSION} is too old: 2.2.19 or newer"))
    r << Result.new(:ok, "host", "#{HOST_OS} #{HOST_ARCH}; lab box architecture #{ARCH}")
    box_checks(r)
    provider_checks(r)
    if !OFFLINE && SYNC && env("ECLAT_SYNC_TYPE", "rsync") == "rsync" && !which("rsync")
      r << Result.new(:miss, "rsync", "copying the repository needs rsync on the host (or use a lab box, which carries it)")
    end
    mem = mib_memory
    if mem
      need = MEMORY + 1024
      r << Result.new(mem >= need ? :ok : :warn, "memory", "#{mem} MiB (the VM takes #{MEMORY} MiB; #{need} MiB or more advised)")
    end
    home = ENV["VAGRANT_HOME"] || File.join(Dir.home, ".vagrant.d")
    free = mib_free(File.directory?(home) ? home : Dir.home)
    if free
      box = LOCAL_BOXES.map { |b| File.size(b[:path]) / 1024 / 1024 }.max || 2048
      need = 3 * box + 1024   # the box, its unpacked copy, the VM's disk growing
      r << Result.new(free >= need ? :ok : :miss, "disk", "#{free} MiB free where Vagrant keeps boxes (#{need} MiB needed)")
    end
    tag = { ok: "ok  ", warn: "warn", miss: "MISS", info: "info" }
    puts "eclat-lab preflight (offline; ECLAT_PREFLIGHT=0 skips it)"
    r.each { |x| puts format("[%s] %-11s %s", tag[x.level], x.what, x.detail) }
    missing = r.count { |x| x.level == :miss }
    if missing.zero?
      puts OFFLINE ? "READY: `vagrant up` needs no network; then `vagrant ssh -c 'sudo eclat-lab doctor'`." :
                     "READY to build the lab online (no lab box found: see the warnings)."
    else
      puts "NOT READY: #{missing} thing#{missing == 1 ? '' : 's'} missing (the MISS lines say what to do)."
    end
  end
end
