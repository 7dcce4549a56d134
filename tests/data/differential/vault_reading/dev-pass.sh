#!/bin/sh
echo dev-secret
