# topology.rb - read a netns/*.toml topology for the multi-machine Vagrantfile. Vagrant's Ruby
# has no TOML library, and a topology file uses a small part of TOML: comments, [[node]] and
# [[link]] tables, key = value with strings, integers, booleans, arrays and inline tables.
module EclatTopology
  class ParseError < StandardError; end

  # A tiny reader for that part of TOML: returns a Hash like a full parser would.
  class Reader
    def initialize(text, path)
      @s = text
      @i = 0
      @path = path
    end

    def parse
      root = {}
      table = root
      loop do
        skip_ws_comments_newlines
        break if eof?
        if peek(2) == "[["
          @i += 2
          name = bare_key
          expect("]]")
          (root[name] ||= []) << (table = {})
        elsif peek == "["
          @i += 1
          name = bare_key
          expect("]")
          table = (root[name] ||= {})
        else
          key = bare_key
          skip_spaces
          expect("=")
          table[key] = value
        end
        skip_spaces
        skip_comment
        error("expected the end of the line") unless eof? || peek == "\n"
      end
      root
    end

    private

    def value
      skip_spaces
      case peek
      when '"' then string
      when "[" then array
      when "{" then inline_table
      when "t", "f" then boolean
      when /[-+0-9]/ then integer
      else error("expected a value")
      end
    end

    def string
      @i += 1
      out = +""
      until peek == '"'
        error("unterminated string") if eof? || peek == "\n"
        if peek == "\\"
          @i += 1
          esc = { "n" => "\n", "t" => "\t", '"' => '"', "\\" => "\\" }[peek] or error("unknown escape")
          out << esc
        else
          out << peek
        end
        @i += 1
      end
      @i += 1
      out
    end

    def array
      @i += 1
      items = []
      loop do
        skip_ws_comments_newlines
        break if peek == "]"
        items << value
        skip_ws_comments_newlines
        break if peek == "]"
        expect(",")
      end
      @i += 1
      items
    end

    def inline_table
      @i += 1
      t = {}
      loop do
        skip_spaces
        break if peek == "}"
        key = bare_key
        skip_spaces
        expect("=")
        t[key] = value
        skip_spaces
        break if peek == "}"
        expect(",")
      end
      @i += 1
      t
    end

    def boolean
      return (@i += 4; true) if peek(4) == "true"
      return (@i += 5; false) if peek(5) == "false"
      error("expected true or false")
    end

    def integer
      m = /\A[-+]?[0-9_]+/.match(@s[@i..]) or error("expected an integer")
      @i += m[0].size
      Integer(m[0].delete("_"), 10)
    end

    def bare_key
      skip_spaces
      m = /\A[A-Za-z0-9_-]+/.match(@s[@i..]) or error("expected a key")
      @i += m[0].size
      m[0]
    end

    def expect(tok)
      skip_spaces
      error("expected `#{tok}`") unless peek(tok.size) == tok
      @i += tok.size
    end

    def skip_spaces
      @i += 1 while peek == " " || peek == "\t" || peek == "\r"
    end

    def skip_comment
      @i += 1 while !eof? && peek != "\n" if peek == "#"
    end

    def skip_ws_comments_newlines
      loop do
        skip_spaces
        skip_comment
        break unless peek == "\n"
        @i += 1
      end
    end

    def peek(n = 1)
      @s[@i, n].to_s
    end

    def eof?
      @i >= @s.size
    end

    def error(msg)
      line = @s[0...@i].count("\n") + 1
      col = @i - (@s.rindex("\n", [@i - 1, 0].max) || -1)
      raise ParseError, "#{@path}:#{line}:#{col}: #{msg}"
    end
  end

  Node = Struct.new(:name, :forwarding, :ifaces)
  Iface = Struct.new(:dev, :mac, :addresses, :peer)

  # The topology as nodes with their interfaces; each interface knows its peer (for neighbours).
  def self.load(path)
    doc = Reader.new(File.read(path), path).parse
    nodes = {}
    (doc["node"] || []).each do |n|
      nodes[n.fetch("name")] = Node.new(n.fetch("name"), n["forwarding"] == true, [])
    end
    (doc["link"] || []).each_with_index do |l, i|
      a, b = l.fetch("a"), l.fetch("b")
      ia = Iface.new(a.fetch("dev"), a.fetch("mac"), a["addresses"] || [])
      ib = Iface.new(b.fetch("dev"), b.fetch("mac"), b["addresses"] || [])
      ia.peer, ib.peer = ib, ia
      [[a, ia], [b, ib]].each do |end_, iface|
        node = nodes[end_.fetch("node")] or raise ParseError, "#{path}: link #{i + 1} names unknown node #{end_['node']}"
        node.ifaces << iface
      end
    end
    { name: doc["name"], links: doc["link"] || [], nodes: nodes.values }
  end
end
