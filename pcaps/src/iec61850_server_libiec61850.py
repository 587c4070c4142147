#!/usr/bin/env python3
"""IEC 61850 MMS server for icsight's reference captures: libiec61850 1.6
(pyiec61850-ng bindings) with a small substation IED built in code.

IED "PlantLD", two logical devices (MMS domains are IED name + LD inst):

  PlantLDLD0     LLN0   Mod (ENC), Beh, Health (ENS), NamPlt (LPL)
                        data sets Events (GGIO1 Ind1, Ind2, SPCSO1: stVal, q)
                        and Measurements (GGIO1 AnIn1, AnIn2)
                        BRCB brcbEvents (Events, dchg/qchg/GI), URCB urcbMeas
                        (Measurements, dchg/integrity 2 s), GoCB gcbEvents
                        (Events, appid 0x1000; its GOOSE comes from
                        iec61850_goose.py, not from this server)
                 LPHD1  PhyNam (DPL), PhyHealth (ENS), Proxy (SPS)
                 GGIO1  AnIn1, AnIn2 (MV, float), Ind1, Ind2 (SPS),
                        SPCSO1, SPCSO2 (SPC, ctlModel 1: direct with normal
                        security, origin and ctlNum)
  PlantLDPROT    LLN0   Mod, Beh, Health, NamPlt
                 PTOC1  Str (ACD), Op (ACT), StrVal (ASG setting, SP),
                        OpDlTmms (ING setting, SP)

The analogue values change every --period seconds (so that urcbMeas, once a
client enables it, sends reports on data change). An operate on an SPCSOn
sets its stVal (control handler). Writes to CF, SP and DC data are allowed.
File services are on, over --files (a directory of the caller's).
"""
import argparse
import math
import os
import signal
import sys
import time

import pyiec61850.pyiec61850 as L

IED_NAME = "PlantLD"


def mn(node):
    """A model object as the ModelNode* the CDC constructors want."""
    return L.toModelNode(node)


def build_model():
    model = L.IedModel_create(IED_NAME)

    # ---- LD0: the bay's generic I/O
    ld0 = L.LogicalDevice_create("LD0", model)
    lln0 = L.LogicalNode_create("LLN0", ld0)
    L.CDC_ENC_create("Mod", mn(lln0), 0, L.CDC_CTL_MODEL_NONE)
    L.CDC_ENS_create("Beh", mn(lln0), 0)
    L.CDC_ENS_create("Health", mn(lln0), 0)
    L.CDC_LPL_create("NamPlt", mn(lln0), L.CDC_OPTION_DESC)

    lphd1 = L.LogicalNode_create("LPHD1", ld0)
    L.CDC_DPL_create("PhyNam", mn(lphd1), 0)
    L.CDC_ENS_create("PhyHealth", mn(lphd1), 0)
    L.CDC_SPS_create("Proxy", mn(lphd1), 0)

    ggio1 = L.LogicalNode_create("GGIO1", ld0)
    L.CDC_MV_create("AnIn1", mn(ggio1), L.CDC_OPTION_DESC, False)
    L.CDC_MV_create("AnIn2", mn(ggio1), 0, False)
    L.CDC_SPS_create("Ind1", mn(ggio1), 0)
    L.CDC_SPS_create("Ind2", mn(ggio1), 0)
    ctl = L.CDC_CTL_MODEL_DIRECT_NORMAL | L.CDC_CTL_OPTION_ORIGIN | L.CDC_CTL_OPTION_CTL_NUM
    L.CDC_SPC_create("SPCSO1", mn(ggio1), 0, ctl)
    L.CDC_SPC_create("SPCSO2", mn(ggio1), 0, ctl)

    events = L.DataSet_create("Events", lln0)
    # FCDA members (stVal and q), as GOOSE data sets usually are: the GOOSE publisher
    # (iec61850_goose.py) sends these six values in this order
    for ref in ("GGIO1$ST$Ind1$stVal", "GGIO1$ST$Ind1$q", "GGIO1$ST$Ind2$stVal",
                "GGIO1$ST$Ind2$q", "GGIO1$ST$SPCSO1$stVal", "GGIO1$ST$SPCSO1$q"):
        L.DataSetEntry_create(events, ref, -1, None)
    meas = L.DataSet_create("Measurements", lln0)
    for ref in ("GGIO1$MX$AnIn1", "GGIO1$MX$AnIn2"):
        L.DataSetEntry_create(meas, ref, -1, None)

    opts = (L.RPT_OPT_SEQ_NUM | L.RPT_OPT_TIME_STAMP | L.RPT_OPT_REASON_FOR_INCLUSION
            | L.RPT_OPT_DATA_SET | L.RPT_OPT_DATA_REFERENCE | L.RPT_OPT_CONF_REV)
    L.ReportControlBlock_create("brcbEvents01", lln0, "PlantLDLD0/LLN0$BR$brcbEvents01", True,
                                "Events", 1,
                                L.TRG_OPT_DATA_CHANGED | L.TRG_OPT_QUALITY_CHANGED | L.TRG_OPT_GI,
                                opts | L.RPT_OPT_ENTRY_ID, 100, 0)
    L.ReportControlBlock_create("urcbMeas01", lln0, "PlantLDLD0/LLN0$RP$urcbMeas01", False,
                                "Measurements", 1,
                                L.TRG_OPT_DATA_CHANGED | L.TRG_OPT_INTEGRITY | L.TRG_OPT_GI,
                                opts, 50, 2000)
    L.GSEControlBlock_create("gcbEvents", lln0, "PlantLDLD0/LLN0$GO$gcbEvents", "Events", 1,
                             False, 10, 1000)

    # ---- PROT: an overcurrent function whose settings an intruder would change
    prot = L.LogicalDevice_create("PROT", model)
    plln0 = L.LogicalNode_create("LLN0", prot)
    L.CDC_ENC_create("Mod", mn(plln0), 0, L.CDC_CTL_MODEL_NONE)
    L.CDC_ENS_create("Beh", mn(plln0), 0)
    L.CDC_ENS_create("Health", mn(plln0), 0)
    L.CDC_LPL_create("NamPlt", mn(plln0), L.CDC_OPTION_DESC)
    ptoc1 = L.LogicalNode_create("PTOC1", prot)
    L.CDC_ACD_create("Str", mn(ptoc1), 0)
    L.CDC_ACT_create("Op", mn(ptoc1), 0)
    L.CDC_ASG_create("StrVal", mn(ptoc1), 0, False)
    L.CDC_ING_create("OpDlTmms", mn(ptoc1), 0)
    return model


class OperHandler(L.ControlHandlerForPython):
    """Control handler (a SWIG director, called from the server's thread): an operate
    on SPCSOn sets its stVal and t, as the output would report back."""

    def __init__(self, server, model, do_ref):
        L.ControlHandlerForPython.__init__(self)
        self.server = server
        self.stval = attr(model, do_ref + ".stVal")
        self.t = attr(model, do_ref + ".t")
        self.do_ref = do_ref

    def trigger(self):
        value = L.MmsValue_getBoolean(self._libiec61850_mms_value)
        L.IedServer_updateBooleanAttributeValue(self.server, self.stval, value)
        L.IedServer_updateUTCTimeAttributeValue(self.server, self.t, int(time.time() * 1000))
        print(f"operate {self.do_ref} := {value}", flush=True)
        self._libiec61850_control_handler_result = L.CONTROL_RESULT_OK


def attr(model, ref):
    node = L.IedModel_getModelNodeByObjectReference(model, ref)
    if not node:
        sys.exit(f"no such attribute in the model: {ref}")
    return L.toDataAttribute(node)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.10")
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--files", required=True, help="directory served by the MMS file services")
    ap.add_argument("--period", type=float, default=1.0, help="seconds between analogue changes")
    a = ap.parse_args()

    model = build_model()
    # IedServer_createWithConfig cannot be used: the binding refuses a NULL TLS
    # configuration. libiec61850's defaults serve: file service and dynamic
    # data sets on, the integrated GOOSE publisher idle until
    # IedServer_enableGoosePublishing, which is never called (GOOSE comes
    # from a separate publisher process).
    server = L.IedServer_create(model)
    L.IedServer_setFilestoreBasepath(server, os.path.join(os.path.abspath(a.files), ""))
    for fc in (L.IEC61850_FC_CF, L.IEC61850_FC_SP, L.IEC61850_FC_DC):
        L.IedServer_setWriteAccessPolicy(server, fc, L.ACCESS_POLICY_ALLOW)
    L.IedServer_setServerIdentity(server, "icsight", "plant-ied", "1.6")
    L.IedServer_setLocalIpAddress(server, a.host)

    now = int(time.time() * 1000)
    init = {
        "PlantLDLD0/LLN0.Mod.stVal": 1, "PlantLDLD0/LLN0.Beh.stVal": 1,
        "PlantLDLD0/LLN0.Health.stVal": 1, "PlantLDPROT/LLN0.Mod.stVal": 1,
        "PlantLDPROT/LLN0.Beh.stVal": 1, "PlantLDPROT/LLN0.Health.stVal": 1,
        "PlantLDLD0/LPHD1.PhyHealth.stVal": 1, "PlantLDPROT/PTOC1.OpDlTmms.setVal": 300,
    }
    for ref, v in init.items():
        L.IedServer_updateInt32AttributeValue(server, attr(model, ref), v)
    for ref in ("PlantLDLD0/GGIO1.SPCSO1.ctlModel", "PlantLDLD0/GGIO1.SPCSO2.ctlModel"):
        L.IedServer_updateInt32AttributeValue(server, attr(model, ref), 1)
    L.IedServer_updateFloatAttributeValue(server, attr(model, "PlantLDPROT/PTOC1.StrVal.setMag.f"), 400.0)
    strings = {
        "PlantLDLD0/LLN0.NamPlt.vendor": "icsight", "PlantLDLD0/LLN0.NamPlt.swRev": "1.6",
        "PlantLDLD0/LLN0.NamPlt.d": "bay 1 generic I/O", "PlantLDLD0/LPHD1.PhyNam.vendor": "icsight",
        "PlantLDLD0/GGIO1.AnIn1.d": "feeder current A",
        "PlantLDPROT/LLN0.NamPlt.vendor": "icsight", "PlantLDPROT/LLN0.NamPlt.swRev": "1.6",
        "PlantLDPROT/LLN0.NamPlt.d": "feeder overcurrent",
    }
    for ref, v in strings.items():
        L.IedServer_updateVisibleStringAttributeValue(server, attr(model, ref), v)
    for ref in ("PlantLDLD0/GGIO1.Ind1.t", "PlantLDLD0/GGIO1.Ind2.t", "PlantLDLD0/GGIO1.SPCSO1.t",
                "PlantLDLD0/GGIO1.SPCSO2.t", "PlantLDLD0/GGIO1.AnIn1.t", "PlantLDLD0/GGIO1.AnIn2.t"):
        L.IedServer_updateUTCTimeAttributeValue(server, attr(model, ref), now)
    L.IedServer_updateBooleanAttributeValue(server, attr(model, "PlantLDLD0/GGIO1.Ind1.stVal"), True)

    handlers = []  # the subscribers and handlers must outlive the server
    for do_ref in ("PlantLDLD0/GGIO1.SPCSO1", "PlantLDLD0/GGIO1.SPCSO2"):
        h = OperHandler(server, model, do_ref)
        sub = L.ControlSubscriberForPython()
        sub.setIedServer(server)
        sub.setControlObject(L.toDataObject(L.IedModel_getModelNodeByObjectReference(model, do_ref)))
        sub.setControlHandler(h)
        sub.subscribe()
        handlers.append((sub, h))

    L.IedServer_start(server, a.port)
    if not L.IedServer_isRunning(server):
        sys.exit(f"IedServer did not start on {a.host}:{a.port}")
    print(f"libiec61850 IedServer on {a.host}:{a.port}, files under {a.files}", flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    an1 = attr(model, "PlantLDLD0/GGIO1.AnIn1.mag.f")
    an1t = attr(model, "PlantLDLD0/GGIO1.AnIn1.t")
    an2 = attr(model, "PlantLDLD0/GGIO1.AnIn2.mag.f")
    an2t = attr(model, "PlantLDLD0/GGIO1.AnIn2.t")
    k = 0
    while not stop:
        t = int(time.time() * 1000)
        L.IedServer_lockDataModel(server)
        L.IedServer_updateFloatAttributeValue(server, an1, round(120.0 + 8.0 * math.sin(k / 3.0), 1))
        L.IedServer_updateUTCTimeAttributeValue(server, an1t, t)
        L.IedServer_updateFloatAttributeValue(server, an2, round(10.9 + 0.2 * math.cos(k / 5.0), 2))
        L.IedServer_updateUTCTimeAttributeValue(server, an2t, t)
        L.IedServer_unlockDataModel(server)
        k += 1
        end = time.time() + a.period
        while not stop and time.time() < end:
            time.sleep(0.05)
    L.IedServer_stop(server)
    print("server stopped", flush=True)
    # No IedServer_destroy and no interpreter teardown: tearing down the SWIG control
    # handlers after the server crashes the process.
    os._exit(0)


if __name__ == "__main__":
    main()
