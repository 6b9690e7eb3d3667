//! Names of what the lab has now, for completion (the REPL's TAB, the TUI's command line):
//! nodes and their interfaces, maps, programs, loaded scripts and modules. Read-only and
//! cheap (a directory walk, a state file).

use crate::Lab;

impl Lab {
    /// The nodes of the topology that is up.
    pub fn node_names(&self) -> Vec<String> {
        eclat_kernel::nodes::current(self.env())
            .ok()
            .flatten()
            .map(|t| t.nodes.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The interfaces of `node`.
    pub fn dev_names(&self, node: &str) -> Vec<String> {
        eclat_kernel::nodes::current(self.env())
            .ok()
            .flatten()
            .map(|t| t.ends_of(node).map(|(e, _)| e.dev.clone()).collect())
            .unwrap_or_default()
    }

    /// The short names of the lab's maps.
    pub fn map_names(&self) -> Vec<String> {
        eclat_kernel::maps::list(self.env())
            .iter()
            .map(|m| m.short().to_string())
            .collect()
    }

    /// Is `map` a program array?
    pub fn is_prog_array(&self, map: &str) -> bool {
        eclat_kernel::maps::find(self.env(), map).is_ok_and(|m| m.map_type == "prog_array")
    }

    /// Programs `xdp attach` takes: the prebuilt ones and those of `xdp load`.
    pub fn attachable_programs(&self) -> Vec<String> {
        eclat_kernel::xdp::PROGRAMS
            .iter()
            .map(|p| p.name.to_string())
            .chain(
                eclat_kernel::xdp::loaded_objects(self.env())
                    .into_iter()
                    .flat_map(|(_, progs)| progs),
            )
            .collect()
    }

    /// Every program pinned by the lab (what a program array slot can hold).
    pub fn pinned_program_names(&self) -> Vec<String> {
        eclat_kernel::xdp::pinned_programs(self.env())
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    /// Loaded scripts (canonical paths).
    pub fn script_names(&self) -> Vec<String> {
        crate::store::peek(self.env())
            .scripts
            .keys()
            .cloned()
            .collect()
    }

    /// What `module unload` takes: learner modules, registered `package.name`s, packages.
    pub fn unloadable_modules(&self) -> Vec<String> {
        let st = crate::store::peek(self.env());
        let mut v: Vec<String> = st.modules.keys().cloned().collect();
        for k in st.programs.keys() {
            v.push(k.clone());
            v.extend(k.split_once('.').map(|(p, _)| p.to_string()));
        }
        v
    }
}

impl Lab {
    /// Objects loaded with `xdp load`.
    pub fn xdp_object_names(&self) -> Vec<String> {
        eclat_kernel::xdp::loaded_objects(self.env())
            .into_iter()
            .map(|(o, _)| o)
            .collect()
    }

    /// The cubes of the lab.
    pub fn cube_names(&self) -> Vec<String> {
        eclat_kernel::xdp::loaded_in_area(self.env(), eclat_kernel::cube::CUBE_AREA)
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    }

    /// The built-in cubes `cube add` takes by name.
    pub fn builtin_cube_names(&self) -> Vec<String> {
        eclat_kernel::cube::BUILTIN
            .iter()
            .map(|b| b.0.to_string())
            .collect()
    }

    /// Every output port of every cube, as `cube connect` takes it (`cls:0`).
    pub fn cube_ports(&self) -> Vec<String> {
        let n = eclat_kernel::cube::MAX_PORTS;
        self.cube_names()
            .into_iter()
            .flat_map(|c| (0..n).map(move |p| format!("{c}:{p}")))
            .collect()
    }
}
