# The bus operator's procedure for every pass of the mission demo, run by
# ground.sim.mission_ops as `tessera ground run` runs a procedure. Besides the
# procedure functions it is given: craft, pass_number, station, aos_s, los_s,
# tasks, live(name), stored(name), fact(key, value), wait_until(onboard_s),
# current_pass(), state.
SAFE, NOMINAL = 0, 1

log(f"{craft} pass {pass_number} over {station}: {', '.join(tasks)}")
verify(ping("comms"))
verify(ping("mode"))
mode = live("mode.hk.mode")
soc = live("eps.hk.soc_pct")
kept = stored("eps.hk.soc_pct")
fact("stored_samples", kept)
fact("mode", int(mode))
fact("soc_pct", round(float(soc), 1))
log(f"stored telemetry: {kept} battery samples from before AOS; mode {mode}, "
    f"battery {soc:.1f} %")
verify(send("sample.set_input", value=float(pass_number)))
assert wait_for("sample.hk.output_cnt", lambda v: v == float(pass_number)) == pass_number

if "upload" in tasks:
    # Late in the pass on purpose: the bundle does not fit before LOS, and the
    # transfer carries on in the next pass from where it stopped.
    wait_until(los_s - upload_lead_s)
    result = upload_file(bundle, install=True, start=True, timeout_s=120.0)
    state.installed_pass = (craft, current_pass() or pass_number)
    fact("upload", {"octets": result.octets, "passes": result.passes,
                    "installed_in_pass": state.installed_pass[1]})

if "watch_safe" in tasks and int(mode) == SAFE:
    cause = live("mode.hk.safe_cause")
    state.safe_seen = state.safe_seen or (craft, pass_number)
    fact("safe_cause", int(cause))
    if soc >= recover_soc_pct:
        verify(send("mode.set_mode", mode=NOMINAL))
        wait_for("mode.hk.mode", lambda v: int(v) == NOMINAL)
        state.recovered = (craft, pass_number)
        fact("recovered", True)
        log(f"{craft} back in NOMINAL (battery {soc:.1f} %)")
    else:
        log(f"{craft} stays in SAFE: battery {soc:.1f} % < {recover_soc_pct} %")
