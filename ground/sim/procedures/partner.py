# A partner's procedure for every pass of the mission demo (uni-a and uni-b),
# run by ground.sim.mission_ops as `tessera ground run` runs a procedure.
own = "uni_a_sample" if role == "uni-a" else "uni_b_sample"

verify(ping(own))
verify(set_parameter(f"{own}.gain", 1.0 + pass_number / 10.0))
why = expect_refused(send, "mode.set_mode", mode=1)      # the operator's command
assert "may not command" in why, why
assert tm("eps.hk.soc_pct") is None                       # the operator's telemetry

if "payload_data" in tasks:
    if role == state_partner:
        verify(send("dosimeter.SET_GAIN", gain=2.0))
        gain = wait_for("dosimeter.DoseReport.gain", lambda v: v == 2.0)
        dose = wait_for("dosimeter.DoseReport.total_dose")
        fact("dosimeter", {"gain": gain, "total_dose_ugy": dose})
        log(f"dosimeter: gain {gain}, total dose {dose:.4f} uGy")
    else:
        why = expect_refused(send, "dosimeter.SET_GAIN", gain=2.0)
        assert "may not command" in why, why
        assert tm("dosimeter.DoseReport.dose_rate") is None
        fact("dosimeter_hidden", True)
