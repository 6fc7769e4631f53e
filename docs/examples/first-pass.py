# A first pass, as the bus operator: `tessera ground run docs/examples/first-pass.py ...`
verify(ping("sample"))                                   # PUS 17: is it alive?
verify(send("sample.set_input", value=150.0))            # PUS 8, checked against the dictionary
value = wait_for("sample.hk.output_cnt", lambda v: v > 100, timeout_s=30)
log(f"output {value} units (above the warning limit of 100)")
timed = schedule(onboard_time() + 5, "sample.set_input", value=1.0)   # PUS 11
verify(timed, timeout_s=60)
log(f"time-tagged command executed; output now {wait_for('sample.hk.output_cnt')}")
