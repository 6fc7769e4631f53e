"""ADCS app: reads the attitude sensors, runs the control law, drives the actuators."""

from fsw.apps.adcs.app import ADCS_STATE, DEVICE_HEALTH, AdcsApp, AdcsMode

__all__ = ["ADCS_STATE", "DEVICE_HEALTH", "AdcsApp", "AdcsMode"]
