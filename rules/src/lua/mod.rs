//! `lua`/`luajit`: a rule condition written as a Lua script, with Suricata's Lua detection
//! API, on an embedded Lua 5.4 that can reach nothing outside the sensor.
//!
//! A script defines `match(args)`, returning 1 (or `true`) for a match, and may define
//! `init(args)`, returning the buffers it needs (Suricata 7's `needs` table: `payload`,
//! `http.uri`, …), which `match` then finds in `args` — `args.buffer` is the sticky buffer the
//! `lua` keyword follows. Scripts read the transaction through Suricata's libraries
//! (`require("suricata.dnp3")`, `suricata.http`, `suricata.dns`, `suricata.tls`, `suricata.ssh`,
//! `suricata.packet`, `suricata.flow`) and the sensor's own for Modbus and S7comm
//! (`suricata.modbus`, `suricata.s7comm`): [`libs`].
//!
//! The sandbox: only the `string`, `table`, `math` and `utf8` libraries and a base library
//! without `load`, `loadfile`, `dofile`, `pcall`, `xpcall` (a limit caught in the script would
//! be no limit) or `print`; memory capped by [`Limits::max_bytes`] and each call by
//! [`Limits::max_instructions`], as Suricata's `security.lua.max-bytes` and `max-instructions`
//! do. A call that errs or meets a limit does not match, and is counted. Each detection thread
//! keeps its own Lua state per rule, made when the rule is first evaluated there.
//!
//! Scripts are operator configuration: rules with `lua` load only when `[rules] lua = true`
//! (Suricata 8's `security.lua.allow-rules`), and a bulletin may carry none.

mod libs;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

use crate::engine::PacketView;
use crate::payload::Buffer;

pub use libs::{buffer, Input};

/// What one script may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the Lua state may hold.
    pub max_bytes: usize,
    /// VM instructions one call may run.
    pub max_instructions: u64,
}

impl Default for Limits {
    /// Suricata's defaults.
    fn default() -> Self {
        Limits {
            max_bytes: 500_000,
            max_instructions: 500_000,
        }
    }
}

/// The hook runs every this many instructions.
const HOOK_EVERY: u32 = 1_000;

/// What the hook raises when a call has run its instructions.
const INSTRUCTION_LIMIT: &str = "instruction limit reached";

/// A rule's `lua` keyword.
#[derive(Clone)]
pub struct LuaUse {
    /// The script as the rule names it.
    pub path: String,
    /// The sticky buffer the keyword follows, handed to the script as `args.buffer`.
    pub buffer: Option<Buffer>,
    /// The script, once the rules are loaded.
    pub script: Option<Arc<Script>>,
}

impl fmt::Debug for LuaUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaUse")
            .field("path", &self.path)
            .field("buffer", &self.buffer)
            .field("loaded", &self.script.is_some())
            .finish()
    }
}

impl PartialEq for LuaUse {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.buffer == other.buffer
    }
}

/// A script checked at load: it runs, has `match`, and its `init` says what it needs.
#[derive(Debug)]
pub struct Script {
    name: String,
    source: Vec<u8>,
    needs: Vec<String>,
    limits: Limits,
}

impl Script {
    /// Check `source` (named `name` in its errors) by running it in a state of its own.
    pub fn compile(name: &str, source: Vec<u8>, limits: Limits) -> Result<Self, String> {
        let mut script = Script {
            name: name.to_owned(),
            source,
            needs: Vec::new(),
            limits,
        };
        let state = State::new(&script).map_err(|e| describe(name, &e))?;
        script.needs = state.needs;
        Ok(script)
    }

    /// What `init` asked for.
    pub fn needs(&self) -> &[String] {
        &self.needs
    }
}

/// The error of a script, first line only, named by its file.
fn describe(name: &str, e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::MemoryError(_) => "memory limit reached".to_owned(),
        e => e.to_string(),
    };
    let first = text.lines().next().unwrap_or_default();
    format!("lua script {name}: {first}")
}

/// One script's Lua state on one thread.
struct State {
    lua: Lua,
    match_fn: Function,
    needs: Vec<String>,
    /// The libraries the script required, as [`libs::Lib`] bits.
    required: Arc<AtomicU32>,
    modules: Table,
    /// Hook calls left in this call.
    budget: Arc<AtomicU64>,
    units: u64,
}

impl State {
    fn new(script: &Script) -> mlua::Result<Self> {
        let libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8;
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        lua.set_memory_limit(script.limits.max_bytes)?;
        let units = script
            .limits
            .max_instructions
            .div_ceil(u64::from(HOOK_EVERY));
        let budget = Arc::new(AtomicU64::new(units));
        let left = budget.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                let before =
                    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                match before {
                    Ok(_) => Ok(VmState::Continue),
                    Err(_) => Err(mlua::Error::runtime(INSTRUCTION_LIMIT)),
                }
            },
        )?;
        let g = lua.globals();
        for name in ["load", "loadfile", "dofile", "pcall", "xpcall", "print"] {
            g.raw_set(name, Value::Nil)?;
        }
        let required = Arc::new(AtomicU32::new(0));
        let modules = libs::modules(&lua)?;
        let (m, r) = (modules.clone(), required.clone());
        let require = lua.create_function(move |_, name: String| {
            let Some(lib) = libs::Lib::named(&name) else {
                return Err(mlua::Error::runtime(format!(
                    "module '{name}' is not available to rule scripts"
                )));
            };
            r.fetch_or(lib.bit(), Ordering::Relaxed);
            m.get::<Table>(name)
        })?;
        g.raw_set("require", require)?;
        lua.load(&script.source[..])
            .set_name(format!("@{}", script.name))
            .exec()?;
        let match_fn = match g.get::<Value>("match")? {
            Value::Function(f) => f,
            _ => return Err(mlua::Error::runtime("defines no `match` function")),
        };
        let mut needs = Vec::new();
        if let Value::Function(init) = g.get::<Value>("init")? {
            budget.store(units, Ordering::Relaxed);
            if let Value::Table(t) = init.call::<Value>(lua.create_table()?)? {
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    let wanted = !matches!(v, Value::Nil | Value::Boolean(false))
                        && !matches!(&v, Value::String(s) if s.as_bytes().as_ref() == b"false");
                    if let (Value::String(k), true) = (k, wanted) {
                        needs.push(k.to_str()?.to_owned());
                    }
                }
            }
        }
        needs.sort();
        Ok(State {
            lua,
            match_fn,
            needs,
            required,
            modules,
            budget,
            units,
        })
    }

    fn call(&self, call: &Call<'_>) -> mlua::Result<bool> {
        self.budget.store(self.units, Ordering::Relaxed);
        let required = self.required.load(Ordering::Relaxed);
        self.lua.scope(|scope| {
            libs::bind(scope, &self.modules, required, call)?;
            let args = self.lua.create_table()?;
            for need in &self.needs {
                if let Some(bytes) = libs::need(need, call) {
                    args.raw_set(need.as_str(), self.lua.create_string(bytes)?)?;
                }
            }
            if let Some(b) = call.buffer {
                args.raw_set("buffer", self.lua.create_string(b)?)?;
            }
            let r = self.match_fn.call::<Value>(args)?;
            Ok(match r {
                Value::Integer(n) => n != 0,
                Value::Number(n) => n != 0.0,
                Value::Boolean(b) => b,
                _ => false,
            })
        })
    }
}

/// What a script is called on.
pub struct Call<'i> {
    pub pkt: &'i PacketView,
    pub input: Input<'i>,
    /// The sticky buffer the `lua` keyword follows, when the rule names one.
    pub buffer: Option<&'i [u8]>,
}

/// The Lua states of one detection thread, by rule.
#[derive(Default)]
pub struct LuaStates {
    states: HashMap<u32, Option<State>>,
    /// Calls that ended in an error (limits excluded).
    pub errors: u64,
    /// Calls stopped by the memory or instruction limit.
    pub limit_hits: u64,
}

impl fmt::Debug for LuaStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaStates")
            .field("states", &self.states.len())
            .field("errors", &self.errors)
            .field("limit_hits", &self.limit_hits)
            .finish()
    }
}

impl LuaStates {
    /// Whether rule `rule`'s script matches `call`.
    pub fn matches(&mut self, rule: u32, script: &Script, call: &Call<'_>) -> bool {
        let state = self
            .states
            .entry(rule)
            .or_insert_with(|| State::new(script).ok());
        let Some(state) = state else {
            self.errors += 1;
            return false;
        };
        match state.call(call) {
            Ok(m) => m,
            Err(e) => {
                if is_limit(&e) {
                    self.limit_hits += 1;
                } else {
                    self.errors += 1;
                }
                false
            }
        }
    }
}

/// Whether an error is a limit's (memory or instructions), however the script wrapped it.
fn is_limit(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::RuntimeError(m) => m.contains(INSTRUCTION_LIMIT),
        mlua::Error::CallbackError { cause, .. } => is_limit(cause),
        mlua::Error::WithContext { cause, .. } => is_limit(cause),
        _ => e.to_string().contains(INSTRUCTION_LIMIT),
    }
}

#[cfg(test)]
mod tests;
